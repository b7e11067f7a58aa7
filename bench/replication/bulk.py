#!/usr/bin/env python3
"""Creates licenses at a primary through POST /api/v1/licenses/batch (1000 per request).

usage: bulk.py PRIMARY_URL ADMIN_TOKEN COUNT [ACCOUNT]
Prints the seconds taken; creates the account, a live API key and a product first.
"""
import json
import sys
import time
import urllib.request


def call(url, method, token, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def main():
    base, admin, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    account = sys.argv[4] if len(sys.argv) > 4 else "acc_bulk"
    call(base + "/admin/v1/accounts", "POST", admin, {"id": account, "plan": "enterprise"})
    key = call(base + f"/admin/v1/accounts/{account}/api-keys", "POST", admin, {"mode": "live"})["apiKey"]["key"]
    product = call(base + "/api/v1/products", "POST", key, {"name": "Bulk", "platforms": ["linux"]})["product"]["id"]
    start = time.monotonic()
    left = count
    while left > 0:
        n = min(1000, left)
        call(base + "/api/v1/licenses/batch", "POST", key,
             {"licenses": [{"product_id": product, "type": "perpetual", "max_activations": 3}] * n})
        left -= n
    print(f"created {count} licenses in {time.monotonic() - start:.2f} s")


if __name__ == "__main__":
    main()
