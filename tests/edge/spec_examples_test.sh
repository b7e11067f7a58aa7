#!/usr/bin/env bash
# Runs the spec's own client examples — curl, Python (requests) and JavaScript (fetch) — as
# written, with only the base URL pointed at a local license-edge on the demo replica.
# Usage: spec_examples_test.sh LICENSE_EDGE_BINARY DEMO_CHANGES_JSONL
set -euo pipefail
edge="$1"
demo="$2"
threads=1
source "$(dirname "${BASH_SOURCE[0]}")/demo_edge.sh"
base="http://127.0.0.1:$port"

passed=0
failed=0
check() {  # name, command output, expected substring
  if [[ "$2" == *"$3"* ]]; then
    passed=$((passed + 1)); echo "ok   $1"
  else
    failed=$((failed + 1)); echo "FAIL $1: expected '$3' in: $2"
  fi
}

# Quick Start, step 2 (curl), URL swapped for the local edge.
out=$(curl -s -X POST $base/api/v1/validate   -H "Authorization: Bearer to_live_xxxxxxxxxxxxx"   -H "Content-Type: application/json"   -d '{"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"}')
check "curl quick start" "$out" '"valid":true'

# Python section.
out=$(python3 - "$base" <<'PY'
import sys
import requests

API_KEY = "to_live_xxxxxxxxxxxxx"
BASE = sys.argv[1]

# Validate a license
response = requests.post(
    f"{BASE}/api/v1/validate",
    headers={"Authorization": f"Bearer {API_KEY}"},
    json={"key": "XXXX-XXXX-XXXX-XXXX", "domain": "example.com"}
)

data = response.json()
if data["valid"]:
    print("License is valid!")
else:
    print("Validation failed")
PY
)
check "python requests" "$out" "License is valid!"

# JavaScript/TypeScript section (Node's global fetch).
out=$(BASE="$base" node --input-type=module -e "
const API_KEY = 'to_live_xxxxxxxxxxxxx';
const BASE = process.env.BASE;

// Validate a license
const res = await fetch(BASE + '/api/v1/validate', {
  method: 'POST',
  headers: {
    'Authorization': 'Bearer ' + API_KEY,
    'Content-Type': 'application/json'
  },
  body: JSON.stringify({
    key: 'XXXX-XXXX-XXXX-XXXX',
    domain: 'example.com'
  })
});

const { valid, license } = await res.json();
console.log(valid, license.status);
")
check "javascript fetch" "$out" "true active"

# TKI: cURL example.
out=$(curl -s -X POST $base/api/license/auth \
-H "Authorization: your-api-key-here" \
-H "Content-Type: application/json" \
-H "User-Agent: MyApp/1.0.0" \
-d '{
"data": {
"product": "MyProduct",
"version": "1.0.0",
"licensekey": "TKI-XXXXX-XXXXX",
"ip": "192.168.1.1",
"hwid": "unique-hardware-id"
}
}')
check "tki curl" "$out" '"status_overview":"success"'

# TKI: Python example.
out=$(python3 - "$base" <<'PY'
import sys
import requests
import json
url = sys.argv[1] + '/api/license/auth'
headers = {
'Authorization': 'your-api-key-here',
'Content-Type': 'application/json',
'User-Agent': 'MyApp/1.0.0'
}
data = {
'data': {
'product': 'MyProduct',
'version': '1.0.0',
'licensekey': 'TKI-XXXXX-XXXXX',
'ip': '192.168.1.1',
'hwid': 'unique-hardware-id'
}
}
response = requests.post(url, headers=headers, json=data)
result = response.json()
if result.get('status_overview') == 'success':
    print('Authentication successful!')
    print(f"User: {result['discord_username']}")
    print(f"Expires: {result['expire_date']}")
else:
    print(f"Authentication failed: {result['message']}")
PY
)
check "tki python" "$out" "User: john_doe"

# TKI: JavaScript example.
out=$(BASE="$base" node --input-type=module -e "
const response = await fetch(process.env.BASE + '/api/license/auth', {
method: 'POST',
headers: {
'Authorization': 'your-api-key-here',
'Content-Type': 'application/json',
'User-Agent': 'MyApp/1.0.0'
},
body: JSON.stringify({
data: {
product: 'MyProduct',
version: '1.0.0',
licensekey: 'TKI-XXXXX-XXXXX',
ip: '192.168.1.1',
hwid: 'unique-hardware-id'
}
})
});
const result = await response.json();
if (result.status_overview === 'success') {
console.log('Authentication successful!');
console.log('User:', result.discord_username);
console.log('Expires:', result.expire_date);
} else {
console.error('Authentication failed:', result.message);
}
")
check "tki javascript" "$out" "Expires: 12/31/2099"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
