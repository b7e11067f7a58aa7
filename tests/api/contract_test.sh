#!/usr/bin/env bash
# The OpenAPI contract, against running processes: a nats-server (JetStream) on a port it picks,
# a license-primary and a license-edge following it. Both documents, as served at
# /api/v1/openapi.json, must lint clean with @redocly/cli (its recommended rules, warnings
# included); then contract.mjs sends every documented operation and validates each answer
# against the document (ajv). The npm tools are pinned by package-lock.json and installed once
# into WORK_DIR. Last, the spec's Stripe handler's fetch call (spec_stripe_fetch.js, compared
# with the spec text when it is at hand) creates a license as written, but for the base URL,
# and the spec's pagination curl lists it.
# usage: contract_test.sh PRIMARY_BINARY EDGE_BINARY WORK_DIR [SPEC_FILE]
set -euo pipefail
primary="$1"
edge="$2"
work="$3"
spec="${4:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mkdir -p "$work"
source "$here/../support/shell_test.sh"

npm_tools "$here" "$work" node_modules/.bin/redocly
start_nats

# ---- the primary and an edge following it
LE_ADMIN_TOKEN=contract-token "$primary" --db "$tmp/primary-db" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --port-file "$tmp/primary.ports" --nats "$nats_url" \
  --webhooks-allow-private --smtp 127.0.0.1:9 >"$tmp/primary.log" 2>&1 &
pids+=($!)
wait_until 30 test -s "$tmp/primary.ports" || fail "the primary did not start"
"$edge" --db "$tmp/edge-db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --port-file "$tmp/edge.ports" --nats "$nats_url" --threads 2 >"$tmp/edge.log" 2>&1 &
pids+=($!)
wait_until 30 test -s "$tmp/edge.ports" || fail "the edge did not start"
read -r primary_port primary_admin_port <"$tmp/primary.ports"
read -r edge_port edge_admin_port <"$tmp/edge.ports"
ready() { curl -fsS -o /dev/null "$1/readyz"; }
wait_until 30 ready "http://127.0.0.1:$primary_port" || fail "the primary is not ready"
wait_until 30 ready "http://127.0.0.1:$edge_port" || fail "the edge is not ready"

# ---- both documents lint clean, as served
for p in primary:$primary_port edge:$edge_port; do
  name="${p%%:*}"
  curl -fsS "http://127.0.0.1:${p##*:}/api/v1/openapi.json" -o "$tmp/$name.json" ||
    fail "$name did not serve its document"
  if ! (cd "$work" && ./node_modules/.bin/redocly lint --format stylish "$tmp/$name.json" \
    >"$tmp/lint-$name.out" 2>&1); then
    cat "$tmp/lint-$name.out" >&2
    fail "the $name's document does not lint"
  fi
  if grep -qiE "warning|error" "$tmp/lint-$name.out"; then
    cat "$tmp/lint-$name.out" >&2
    fail "the $name's document has lint warnings"
  fi
  echo "ok   the $name's document lints clean"
done

# ---- every operation, validated against the documents
(cd "$work" && cp "$here/contract.mjs" . &&
  PRIMARY="http://127.0.0.1:$primary_port" EDGE="http://127.0.0.1:$edge_port" \
    PRIMARY_ADMIN="http://127.0.0.1:$primary_admin_port" \
    EDGE_ADMIN="http://127.0.0.1:$edge_admin_port" ADMIN_TOKEN=contract-token \
    node contract.mjs) || fail "answers do not match the documents"
echo "ok   every documented operation answers as documented"

# ---- the spec's Stripe handler: its fetch call, as written but for the base URL
if [ -f "$spec" ]; then
  awk '/^    \/\/ Create license via REST API$/{f=1} f{print} /^    }\);$/{if(f) exit}' "$spec" |
    cmp -s - "$here/spec_stripe_fetch.js" || fail "spec_stripe_fetch.js differs from the spec's"
fi
base="http://127.0.0.1:$primary_port"
api_key="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"])' "$work/state.json")"
product_id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["productId"])' "$work/state.json")"
{
  echo "const TO_API_KEY = process.env.TO_API_KEY;"
  echo "// What Stripe's checkout.session.completed event carries, as the handler reads it."
  echo "const session = { metadata: { product_id: process.env.PRODUCT_ID },"
  echo "  customer_email: 'stripe-buyer@example.com', customer: 'cus_spec', subscription: 'sub_spec' };"
  sed "s#https://api.trafficorchestrator.com#$base#" "$here/spec_stripe_fetch.js"
} >"$tmp/stripe.mjs"
TO_API_KEY="$api_key" PRODUCT_ID="$product_id" node "$tmp/stripe.mjs" || fail "the Stripe fetch call"
# The spec's pagination curl, with its URL quoted (unquoted, the shell would cut it at '&').
curl -s "$base/api/v1/portal/licenses?page=2&limit=50" -H "Authorization: Bearer $api_key" \
  >"$tmp/page2.json"
curl -s "$base/api/v1/portal/licenses?page=1&limit=50" -H "Authorization: Bearer $api_key" \
  >"$tmp/page1.json"
python3 - "$tmp/page1.json" "$tmp/page2.json" <<'PY' || fail "the Stripe license is not listed as the spec says"
import json, sys
page1, page2 = (json.load(open(f)) for f in sys.argv[1:3])
p = page2["pagination"]
assert (p["page"], p["limit"]) == (2, 50), p
assert page2["data"] == [] and p["hasMore"] is False and p["total"] == page1["pagination"]["total"], page2
found = [l for l in page1["data"] if l.get("email") == "stripe-buyer@example.com"]
assert len(found) == 1, page1
l = found[0]
assert l["plan"] == "pro" and l["type"] == "subscription" and l["maxActivations"] == 3, l
assert l["metadata"] == {"stripeCustomerId": "cus_spec", "stripeSubscriptionId": "sub_spec"}, l
PY
echo "ok   the spec's Stripe fetch call creates a license; its pagination curl lists"
