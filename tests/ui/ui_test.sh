#!/usr/bin/env bash
# The dashboard in a real browser, against running processes: a nats-server (JetStream) on a port
# it picks, a license-primary serving the dashboard's compiled-in files, and a license-edge
# following it. Two accounts, each with its first user, are made with the operator token; account
# B gets a license through its API key. browser.mjs (puppeteer-core driving the Debian chromium)
# then signs in as account A's user and works through every page: it asserts that the page
# makes no request outside the primary's origin, logs no console error and no CSP violation,
# shows a hostile product name as text, suspends a license in the UI that the edge then refuses,
# shows B's license as not found, and that inputs are labelled and the skip link comes first.
# A full-page screenshot of each page goes to SCREENSHOT_DIR.
#
# LE_UI_DIR=src/ui serves the files from that directory instead (--ui-dir), for editing without a
# build. The npm tools are pinned by package-lock.json and installed once into WORK_DIR.
# usage: ui_test.sh PRIMARY_BINARY EDGE_BINARY WORK_DIR [SCREENSHOT_DIR]
set -euo pipefail
primary="$1"
edge="$2"
work="$3"
shots="${4:-$3/screenshots}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

mkdir -p "$work" "$shots"
work="$(cd "$work" && pwd)"
shots="$(cd "$shots" && pwd)"
source "$here/../support/shell_test.sh"

[ -x "$chromium" ] || fail "no chromium at $chromium (set CHROMIUM)"

npm_tools "$here" "$work" node_modules/puppeteer-core
start_nats

# ---- the primary and an edge following it
ui_args=()
if [ -n "${LE_UI_DIR:-}" ]; then
  ui_args=(--ui-dir "$(cd "$LE_UI_DIR" && pwd)")
fi
admin_token="ui-test-token"
# Webhook deliveries stay queued: the test's endpoint is a public name it must not reach.
# License emails stay queued too (the relay is a closed loopback port): the page shows that.
LE_ADMIN_TOKEN="$admin_token" "$primary" --db "$tmp/primary-db" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --port-file "$tmp/primary.ports" --nats "$nats_url" \
  --password-cost 10 --no-webhook-delivery --smtp 127.0.0.1:9 ${ui_args[@]+"${ui_args[@]}"} \
  >"$tmp/primary.log" 2>&1 &
pids+=($!)
wait_until 30 test -s "$tmp/primary.ports" || fail "the primary did not start"
"$edge" --db "$tmp/edge-db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --port-file "$tmp/edge.ports" --nats "$nats_url" --threads 2 --report-ms 500 \
  >"$tmp/edge.log" 2>&1 &
pids+=($!)
wait_until 30 test -s "$tmp/edge.ports" || fail "the edge did not start"
read -r primary_port _ <"$tmp/primary.ports"
read -r edge_port _ <"$tmp/edge.ports"
base="http://127.0.0.1:$primary_port"
edge_base="http://127.0.0.1:$edge_port"
ready() { curl -fsS -o /dev/null "$1/readyz"; }
wait_until 30 ready "$base" || fail "the primary is not ready"
wait_until 30 ready "$edge_base" || fail "the edge is not ready"

# ---- the dashboard is served with its policy
curl -fsS -D "$tmp/ui.headers" -o "$tmp/index.html" "$base/ui/" || fail "GET /ui/ failed"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self'" "$tmp/ui.headers" ||
  fail "/ui/ has no Content-Security-Policy: $(cat "$tmp/ui.headers")"
grep -q 'src="app.js"' "$tmp/index.html" || fail "/ui/ is not the dashboard"
echo "ok   /ui/ serves the dashboard with its Content-Security-Policy"

# ---- two accounts, each with its first user; B has a license A must not see
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
call() { # METHOD PATH BEARER [BODY]
  curl -sS --fail-with-body -X "$1" "$base$2" -H "Authorization: Bearer $3" \
    -H "Content-Type: application/json" ${4:+--data "$4"}
}
password="correct horse battery staple"
for a in a b; do
  call POST /admin/v1/accounts "$admin_token" "{\"id\":\"ui-$a\",\"plan\":\"professional\"}" \
    >/dev/null || fail "creating account ui-$a"
  call POST "/admin/v1/accounts/ui-$a/users" "$admin_token" \
    "{\"email\":\"owner@$a.example.com\",\"password\":\"$password\"}" >/dev/null ||
    fail "creating account ui-$a's user"
done
b_key="$(call POST /admin/v1/accounts/ui-b/api-keys "$admin_token" '{"mode":"live"}' |
  json_field apiKey.key)" || fail "issuing account B's key"
b_product="$(call POST /api/v1/products "$b_key" \
  '{"name":"B Product","plans":[{"id":"basic","type":"perpetual","max_activations":1}]}' |
  json_field product.id)" || fail "creating account B's product"
b_license="$(call POST /api/v1/licenses "$b_key" "{\"product_id\":\"$b_product\",\"type\":\"perpetual\"}" |
  json_field license.id)" || fail "creating account B's license"
echo "ok   accounts ui-a and ui-b with their users; B's license $b_license"

# ---- the browser
cp "$here/browser.mjs" "$work/browser.mjs"
(cd "$work" && PRIMARY="$base" EDGE="$edge_base" CHROMIUM="$chromium" \
  EMAIL_A="owner@a.example.com" PASSWORD_A="$password" OTHER_LICENSE_ID="$b_license" \
  SCREENSHOTS="$shots" timeout -k 5 115 node browser.mjs) || fail "the browser test"
echo "ok   the dashboard works in a browser; screenshots in $shots"
