#!/usr/bin/env bash
# Brings up a local deployment — nats-server (JetStream), license-primary and one license-edge —
# creates a demo account, product and license through the primary's API, shows the license
# valid at the edge, activates a device through the edge (decided by the primary over NATS),
# then suspends the license at the primary and shows the edge refuse it. A webhook receiver
# (the spec's own Flask verifier) gets the license's events, signed, and checks them.
#   scripts/run.sh         start (or restart) from empty state and run the demo
#   scripts/run.sh stop    stop everything
# Loopback only: edge 127.0.0.1:${LE_PORT:-8080}, primary :${LE_PRIMARY_PORT:-8090},
# NATS :${LE_NATS_PORT:-4222}, webhook receiver :${LE_WEBHOOK_PORT:-8099}. State, logs and pids
# live under run/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="$root/run"
edge_port="${LE_PORT:-8080}"
primary_port="${LE_PRIMARY_PORT:-8090}"
nats_port="${LE_NATS_PORT:-4222}"
webhook_port="${LE_WEBHOOK_PORT:-8099}"
admin_token_file="$run/admin-token"

stop_one() {
  local name="$1" pidfile="$run/$1.pid" pid=""
  [[ -f "$pidfile" ]] && pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "$name stopped"
  fi
  rm -f "$pidfile"
}
stop() {
  stop_one license-edge
  stop_one license-primary
  stop_one nats-server
  stop_one webhook-receiver
}

if [[ "${1:-}" == "stop" ]]; then stop; exit 0; fi

bash "$root/scripts/build.sh"
stop
rm -rf "$run"
mkdir -p "$run"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$admin_token_file"
admin_token="$(cat "$admin_token_file")"

wait_ready() {  # url, name, log
  for _ in $(seq 150); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$2 did not become ready; see $3"
  exit 1
}
# Each process is detached from this script's output, so the command returns even when piped.
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$run/nats" >>"$run/nats.log" 2>&1 </dev/null &
echo $! >"$run/nats-server.pid"
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done

LE_ADMIN_TOKEN="$admin_token" "$root/build/src/primary/license-primary" --db "$run/primary-db" \
  --listen "127.0.0.1:$primary_port" --nats "nats://127.0.0.1:$nats_port" \
  --webhooks-allow-private >>"$run/primary.log" 2>&1 </dev/null &
echo $! >"$run/license-primary.pid"
"$root/build/src/edge/license-edge" --db "$run/edge-db" --listen "127.0.0.1:$edge_port" \
  --nats "nats://127.0.0.1:$nats_port" >>"$run/edge.log" 2>&1 </dev/null &
echo $! >"$run/license-edge.pid"
wait_ready "http://127.0.0.1:$primary_port/readyz" license-primary run/primary.log
wait_ready "http://127.0.0.1:$edge_port/readyz" license-edge run/edge.log

primary="http://127.0.0.1:$primary_port"
edge="http://127.0.0.1:$edge_port"
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
show() {
  echo
  echo "\$ $1"
  eval "$1"
  echo
}
echo "nats-server, license-primary ($primary) and license-edge ($edge) are up (logs: run/*.log)"
echo "== at the primary: an account and its API key (operator token in run/admin-token)"
curl -fsS -X POST "$primary/admin/v1/accounts" -H "Authorization: Bearer $admin_token" \
  -d '{"id":"acme","plan":"professional"}' >/dev/null
api_key="$(curl -fsS -X POST "$primary/admin/v1/accounts/acme/api-keys" \
  -H "Authorization: Bearer $admin_token" -d '{"mode":"live"}' | field '["apiKey"]["key"]')"
echo "API key: $api_key"
product="$(curl -fsS -X POST "$primary/api/v1/products" -H "Authorization: Bearer $api_key" \
  -H 'Content-Type: application/json' -d '{"name":"Acme App","platforms":["windows","mac"]}' |
  field '["product"]["id"]')"
echo "== at the primary: a webhook endpoint, received by the spec's Flask verifier on :$webhook_port"
webhook_json="$(curl -fsS -X POST "$primary/api/v1/webhooks" -H "Authorization: Bearer $api_key" \
  -H 'Content-Type: application/json' \
  -d "{\"url\":\"http://127.0.0.1:$webhook_port/webhooks/to\",\"events\":[\"license.created\",\"license.activated\",\"license.suspended\"]}")"
webhook_id="$(echo "$webhook_json" | field '["webhook"]["id"]')"
{
  echo "import os"
  echo "WEBHOOK_SECRET = os.environ['WEBHOOK_SECRET']"
  cat "$root/tests/primary/spec_verifiers/flask_verifier.py"
  echo "app.run(host='127.0.0.1', port=$webhook_port)"
} >"$run/webhook_receiver.py"
WEBHOOK_SECRET="$(echo "$webhook_json" | field '["webhook"]["secret"]')" PYTHONUNBUFFERED=1 \
  python3 "$run/webhook_receiver.py" >>"$run/webhook-receiver.log" 2>&1 </dev/null &
echo $! >"$run/webhook-receiver.pid"
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$webhook_port") 2>/dev/null && break; sleep 0.1; done
echo "== at the primary: a license"
license_json="$(curl -fsS -X POST "$primary/api/v1/licenses" -H "Authorization: Bearer $api_key" \
  -H 'Content-Type: application/json' \
  -d "{\"product_id\":\"$product\",\"type\":\"subscription\",\"max_activations\":3,\"expires_at\":\"2030-01-01T00:00:00Z\"}")"
echo "$license_json"
license_key="$(echo "$license_json" | field '["license"]["key"]')"
license_id="$(echo "$license_json" | field '["license"]["id"]')"
sleep 0.2
echo "== at the edge: valid"
show "curl -s -X POST $edge/api/v1/validate -H 'Authorization: Bearer $api_key' -H 'Content-Type: application/json' -d '{\"key\": \"$license_key\"}'"
echo "== at the edge: activate a device (the edge asks the primary over NATS), then validate on it"
show "curl -s -X POST $edge/api/v1/activate -H 'Content-Type: application/json' -d '{\"license_key\": \"$license_key\", \"machine_id\": \"demo-laptop\", \"label\": \"Demo laptop\"}' | head -c 160; echo ..."
show "curl -s -X POST $edge/api/v1/validate -H 'Content-Type: application/json' -d '{\"license_key\": \"$license_key\", \"machine_id\": \"demo-laptop\"}'"
echo "== at the primary: suspend it"
show "curl -s -X POST $primary/api/v1/licenses/$license_id/suspend -H 'Authorization: Bearer $api_key' | head -c 120; echo ..."
sleep 0.2
echo "== at the edge: refused"
show "curl -s -X POST $edge/api/v1/validate -H 'Content-Type: application/json' -d '{\"license_key\": \"$license_key\"}'"
echo "== the webhook receiver verified the signed deliveries (run/webhook-receiver.log)"
for _ in $(seq 50); do grep -q "Event: license.suspended" "$run/webhook-receiver.log" && break; sleep 0.1; done
grep -E "Event:|POST /webhooks/to" "$run/webhook-receiver.log" | sed 's/^/  /'
show "curl -s '$primary/api/v1/webhooks/$webhook_id/deliveries?limit=1' -H 'Authorization: Bearer $api_key'"
echo "== the dashboard: a user of account acme"
demo_password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -fsS -X POST "$primary/admin/v1/accounts/acme/users" -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/json' \
  -d "{\"email\":\"owner@acme.example\",\"password\":\"$demo_password\"}" >/dev/null
echo "$demo_password" >"$run/dashboard-password"
echo "  open $primary/ui/ and sign in as owner@acme.example with the password in run/dashboard-password"
echo "Stop it with: scripts/run.sh stop"
