#!/usr/bin/env python3
"""Activations through an edge, at a fixed rate, with their latency distribution.

usage: activations.py setup PRIMARY_URL ADMIN_TOKEN COUNT KEYS_FILE
         creates an account, a product and COUNT licenses (up to 50 machines each) at the
         primary; writes "<api key>" then one license key per line to KEYS_FILE.
       activations.py drive EDGE_URL KEYS_FILE RATE SECONDS [MAX]
         sends activate / deactivate pairs (one machine per license at a time, so every request
         changes a slot) over one keep-alive connection at RATE requests/s for SECONDS (or MAX
         requests), then prints: count, p50 ms, p99 ms, max ms, non-200 count; the first non-200
         answer goes to stderr.
Loopback only: EDGE_URL and PRIMARY_URL must be http://127.0.0.1:PORT.
"""
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request


def loopback(url):
    u = urllib.parse.urlparse(url)
    if u.hostname != "127.0.0.1":
        sys.exit("loopback only: " + url)
    return u.port


def call(base, method, path, token, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def setup(base, admin, count, keys_file):
    loopback(base)
    call(base, "POST", "/admin/v1/accounts", admin, {"id": "acc_writes", "plan": "enterprise"})
    key = call(base, "POST", "/admin/v1/accounts/acc_writes/api-keys", admin, {"mode": "live"})["apiKey"]["key"]
    product = call(base, "POST", "/api/v1/products", key, {"name": "Writes", "platforms": ["linux"]})["product"]["id"]
    keys = []
    while len(keys) < count:
        n = min(1000, count - len(keys))
        body = {"licenses": [{"product_id": product, "type": "perpetual", "max_activations": 50}] * n}
        keys += [l["key"] for l in call(base, "POST", "/api/v1/licenses/batch", key, body)["licenses"]]
    with open(keys_file, "w") as f:
        f.write(key + "\n" + "\n".join(keys) + "\n")


def drive(edge, keys_file, rate, seconds, max_requests):
    port = loopback(edge)
    with open(keys_file) as f:
        api_key, *licenses = f.read().split()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # No API key: the license key is the credential (the edge's replica need not know the
    # account's key for the write to go through).
    headers = {"Content-Type": "application/json"}
    lat, bad, i = [], 0, 0
    start = time.monotonic()
    while time.monotonic() - start < seconds and i < max_requests:
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        lic = licenses[(i // 2) % len(licenses)]
        path = "/api/v1/activate" if i % 2 == 0 else "/api/v1/deactivate"
        body = json.dumps({"license_key": lic, "machine_id": "bench-%d" % (i // 2)})
        t0 = time.monotonic()
        conn.request("POST", path, body, headers)
        r = conn.getresponse()
        answer = r.read()
        lat.append((time.monotonic() - t0) * 1000)
        if r.status != 200:
            if bad == 0:
                print("first non-200: %d %s" % (r.status, answer[:200]), file=sys.stderr)
            bad += 1
        i += 1
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0
    print("%d %.3f %.3f %.3f %d" % (len(lat), pct(0.50), pct(0.99), lat[-1] if lat else 0, bad))


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) >= 6 and sys.argv[1] == "drive":
        drive(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]),
              int(sys.argv[6]) if len(sys.argv) > 6 else 1 << 62)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
