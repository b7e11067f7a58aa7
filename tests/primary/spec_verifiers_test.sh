#!/usr/bin/env bash
# The spec's own webhook verifiers, cut from the spec text unmodified (kept verbatim in
# spec_verifiers/; compared with the spec text when it is at hand), run as receivers of real
# deliveries from license-primary: the Flask one (python3-flask) and the Express one (express
# from npm). Each is wrapped only with what makes it a program (the secret from the environment
# and app.run for Flask; the app, its JSON body parser and app.listen for Express). For each:
#   - the events of three created licenses and a suspension are delivered, and every delivery
#     is answered 200 (the verifier accepts the signature; it answers 401 otherwise);
#   - the verifier also answers 200 to a request signed here by hand (the control), and 401
#     to the same request with a tampered body, and to one signed with a timestamp 301 s old.
# usage: spec_verifiers_test.sh PRIMARY_BINARY WORK_DIR [SPEC_FILE]
set -euo pipefail
primary="$1"
work="$2"
spec="${3:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mkdir -p "$work"
source "$here/../support/shell_test.sh"

# ---- the verifiers, from the spec
cp "$here/spec_verifiers/flask_verifier.py" "$tmp/flask_snippet.py"
cp "$here/spec_verifiers/express_verifier.mjs" "$tmp/express_snippet.mjs"
if [ -f "$spec" ]; then
  awk '/^# Python \/ Flask$/{f=1} /^php$/{f=0} f' "$spec" | cmp -s - "$tmp/flask_snippet.py" ||
    fail "spec_verifiers/flask_verifier.py differs from the spec's"
  awk '/^\/\/ Node.js \/ Express$/{f=1} /^python$/{f=0} f' "$spec" | cmp -s - "$tmp/express_snippet.mjs" ||
    fail "spec_verifiers/express_verifier.mjs differs from the spec's"
fi
grep -q "def verify_webhook" "$tmp/flask_snippet.py" || fail "no Flask verifier in the spec"
grep -q "const verifyWebhook" "$tmp/express_snippet.mjs" || fail "no Express verifier in the spec"
{
  echo "import os"
  echo "WEBHOOK_SECRET = os.environ['WEBHOOK_SECRET']"
  cat "$tmp/flask_snippet.py"
  echo "app.run(host='127.0.0.1', port=0)"
} >"$tmp/flask_app.py"

# express from npm, installed once into the work directory.
if [ ! -f "$work/node_modules/express/package.json" ]; then
  (cd "$work" && npm install --silent --no-audit --no-fund --no-package-lock express@4 >/dev/null) ||
    fail "npm install express"
fi
{
  echo "import express from 'express'"
  echo "const app = express()"
  echo "app.use(express.json())"
  cat "$tmp/express_snippet.mjs"
  echo "const server = app.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port))"
} >"$work/express_app.mjs"

# ---- the primary
LE_ADMIN_TOKEN=admin-token "$primary" --db "$tmp/db" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --port-file "$tmp/ports" --no-publish --no-edge-writes \
  --webhooks-allow-private >"$tmp/primary.log" 2>&1 &
pids+=($!)
wait_until 30 test -s "$tmp/ports" || fail "the primary did not start"
api="http://127.0.0.1:$(cut -d' ' -f1 "$tmp/ports")"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
admin() { curl -sS -H "Authorization: Bearer admin-token" -H "Content-Type: application/json" "$@"; }
curl_key() { curl -sS -H "Authorization: Bearer $key" -H "Content-Type: application/json" "$@"; }

admin -X POST "$api/admin/v1/accounts" -d '{"id":"acme","plan":"enterprise"}' >/dev/null
key=$(admin -X POST "$api/admin/v1/accounts/acme/api-keys" -d '{"mode":"live"}' | json "['apiKey']['key']")
product=$(curl_key -X POST "$api/api/v1/products" -d '{"name":"Acme App","platforms":["linux"]}' |
  json "['product']['id']")

sign() { printf '%s' "$2.$3" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}'; }
post_signed() { # url secret timestamp body → HTTP status
  curl -sS -o /dev/null -w '%{http_code}' -X POST "$1" -H "Content-Type: application/json" \
    -H "X-TO-Timestamp: $3" -H "X-TO-Signature: $(sign "$2" "$3" "$4")" -H "X-TO-Event: license.created" \
    -H "X-TO-Delivery-ID: whd_manual" --data-binary "$4"
}
# A body as the primary writes it (compact, keys in the spec's order).
sample='{"id":"evt_999","event":"license.created","timestamp":"2026-01-01T00:00:00Z","data":{"licenseId":"lic_1","productId":"prod_1"}}'

check_receiver() { # name log-file
  local name=$1 log=$2 port
  port=$(grep -oE '(127\.0\.0\.1:|listening on )[0-9]+' "$log" | head -1 | grep -oE '[0-9]+$')
  [ -n "$port" ] || fail "$name did not say its port"
  url="http://127.0.0.1:$port/webhooks/to"
  curl_key -X PATCH "$api/api/v1/webhooks/$hook_id" -d "{\"url\":\"$url\",\"enabled\":true}" >/dev/null
  for _ in 1 2 3; do
    curl_key -X POST "$api/api/v1/licenses" -d "{\"product_id\":\"$product\",\"type\":\"perpetual\"}" >"$tmp/license.json"
  done
  curl_key -X POST "$api/api/v1/licenses/$(json "['license']['id']" <"$tmp/license.json")/suspend" >/dev/null
  delivered() {
    curl_key "$api/api/v1/webhooks/$hook_id/deliveries?limit=100" >"$tmp/deliveries.json"
    local rc=0
    python3 - "$tmp/deliveries.json" <<'PY' || rc=$?
import json, sys
d = json.load(open(sys.argv[1]))["data"]
ok = len(d) == 4 and all(x["status"] == "succeeded" and x["lastStatusCode"] == 200 for x in d)
refused = [x for x in d if x["lastStatusCode"] not in (None, 200)]
if refused:
    print("refused:", refused, file=sys.stderr)
    sys.exit(2)
sys.exit(0 if ok else 1)
PY
    [ "$rc" -ne 2 ] || fail "$name refused a delivery"
    return "$rc"
  }
  wait_until 30 delivered || fail "$name: deliveries not all accepted: $(cat "$tmp/deliveries.json")"
  grep -q "Event: license.suspended" "$log" || fail "$name did not log the suspension event"
  # The controls: signed here → 200; tampered → 401; five minutes and a second old → 401.
  local now
  now=$(date +%s)
  [ "$(post_signed "$url" "$secret" "$now" "$sample")" = 200 ] || fail "$name: hand-signed request refused"
  tampered=$(printf '%s' "$sample" | sed 's/lic_1/lic_2/')
  status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url" -H "Content-Type: application/json" \
    -H "X-TO-Timestamp: $now" -H "X-TO-Signature: $(sign "$secret" "$now" "$sample")" \
    --data-binary "$tampered")
  [ "$status" = 401 ] || fail "$name: tampered body answered $status"
  [ "$(post_signed "$url" "$secret" "$((now - 301))" "$sample")" = 401 ] || fail "$name: old timestamp accepted"
  # Off for the next receiver.
  curl_key -X PATCH "$api/api/v1/webhooks/$hook_id" -d '{"enabled":false}' >/dev/null
  echo "$name: 4 deliveries accepted, tampered body and old timestamp refused"
}

for name in flask express; do
  # Registered disabled (its receiver needs the secret before it can start), then pointed at it.
  reg=$(curl_key -X POST "$api/api/v1/webhooks" -d '{"url":"http://127.0.0.1:9/none","enabled":false}')
  hook_id=$(echo "$reg" | json "['webhook']['id']")
  secret=$(echo "$reg" | json "['webhook']['secret']")
  if [ "$name" = flask ]; then
    WEBHOOK_SECRET="$secret" python3 "$tmp/flask_app.py" >"$tmp/flask.log" 2>&1 &
  else
    (cd "$work" && WEBHOOK_SECRET="$secret" exec node express_app.mjs) >"$tmp/express.log" 2>&1 &
  fi
  pids+=($!)
  wait_until 30 grep -qE '(127\.0\.0\.1:|listening on )[0-9]+' "$tmp/$name.log" || fail "$name did not start"
  check_receiver "$name" "$tmp/$name.log"
done
echo "spec verifiers: PASS"
