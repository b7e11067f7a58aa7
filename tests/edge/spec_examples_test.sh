#!/usr/bin/env bash
# Runs the spec's own client examples — curl, Python (requests), JavaScript (fetch), Go
# (net/http), PHP (cURL) and Ruby (Net::HTTP) — as written, with only the base URL pointed at a
# local license-edge on the demo replica. Ruby's example insists on TLS (use_ssl: true): it
# reaches the edge through an nginx TLS terminator on loopback with a certificate made for the
# run, which Ruby trusts through SSL_CERT_FILE. (The spec's C# example needs .NET, which Debian
# does not package: it does not run here.)
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

# Go section: the program as written, the URL swapped (go run, standard library only).
mkdir -p "$work/go"
sed "s|https://api.trafficorchestrator.com|$base|" >"$work/go/main.go" <<'GO'
package main

import (
    "bytes"
    "encoding/json"
    "fmt"
    "net/http"
)

func main() {
    body, _ := json.Marshal(map[string]string{
        "key":    "XXXX-XXXX-XXXX-XXXX",
        "domain": "example.com",
    })

    req, _ := http.NewRequest("POST",
        "https://api.trafficorchestrator.com/api/v1/validate",
        bytes.NewBuffer(body))
    req.Header.Set("Authorization", "Bearer to_live_xxxxxxxxxxxxx")
    req.Header.Set("Content-Type", "application/json")

    resp, err := http.DefaultClient.Do(req)
    if err != nil { return }
    defer resp.Body.Close()

    var result map[string]interface{}
    json.NewDecoder(resp.Body).Decode(&result)
    fmt.Println("Valid:", result["valid"])
}
GO
out=$(cd "$work/go" && HOME="$work" GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off \
  go run main.go 2>&1)
check "go net/http" "$out" "Valid: true"

# PHP section: the script as written, the URL swapped (php-cli with the cURL extension).
out=$(sed "s|https://api.trafficorchestrator.com|$base|" <<'PHP' | php 2>&1
<?php

$ch = curl_init('https://api.trafficorchestrator.com/api/v1/validate');

curl_setopt_array($ch, [
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_POST           => true,
    CURLOPT_HTTPHEADER     => [
        'Authorization: Bearer to_live_xxxxxxxxxxxxx',
        'Content-Type: application/json',
    ],
    CURLOPT_POSTFIELDS => json_encode([
        'key'    => 'XXXX-XXXX-XXXX-XXXX',
        'domain' => 'example.com',
    ]),
]);

$response = curl_exec($ch);
curl_close($ch);

$result = json_decode($response, true);
echo 'Valid: ' . ($result['valid'] ? 'yes' : 'no');
PHP
)
check "php curl" "$out" "Valid: yes"

# Ruby section: TLS on loopback in front of the edge (nginx, a certificate for 127.0.0.1).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<NGINX
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.log;
events {}
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  server {
    listen 127.0.0.1:$tls_port ssl;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    location / { proxy_pass http://127.0.0.1:$port; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" 2>/dev/null &
nginx_pid=$!
cleanup() { kill "$nginx_pid" "${pid:-}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
for _ in $(seq 200); do
  curl -fsS --cacert "$work/tls.crt" "https://127.0.0.1:$tls_port/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
out=$(sed "s|https://api.trafficorchestrator.com|https://127.0.0.1:$tls_port|" <<'RUBY' |
require 'net/http'
require 'json'

uri = URI('https://api.trafficorchestrator.com/api/v1/validate')
req = Net::HTTP::Post.new(uri)
req['Authorization'] = 'Bearer to_live_xxxxxxxxxxxxx'
req['Content-Type']  = 'application/json'
req.body = { key: 'XXXX-XXXX-XXXX-XXXX', domain: 'example.com' }.to_json

res = Net::HTTP.start(uri.hostname, uri.port, use_ssl: true) { |http| http.request(req) }

result = JSON.parse(res.body)
puts "Valid: #{result['valid']}"
RUBY
  SSL_CERT_FILE="$work/tls.crt" ruby 2>&1)
check "ruby net/http (TLS)" "$out" "Valid: true"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
