#!/usr/bin/env bash
# Brings up a local License Edge on a demo replica and shows a validation succeed and one fail.
#   scripts/run.sh         start (or restart) and show validations
#   scripts/run.sh stop    stop it
# Listens on 127.0.0.1:${LE_PORT:-8080}; state, logs and pid live under run/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="$root/run"
port="${LE_PORT:-8080}"
edge_pid="$run/edge.pid"

stop() {
  local pid=""
  [[ -f "$edge_pid" ]] && pid="$(cat "$edge_pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "license-edge stopped"
  fi
  rm -f "$edge_pid"
}

if [[ "${1:-}" == "stop" ]]; then stop; exit 0; fi

bash "$root/scripts/build.sh"
stop
mkdir -p "$run"
rm -rf "$run/edge-db"
"$root/build/src/edge/license-edge" --db "$run/edge-db" \
  --seed "$root/deploy/demo/demo-changes.jsonl" --seed-only 2>>"$run/edge.log"
# Detached from this script's output, so the command returns even when piped.
"$root/build/src/edge/license-edge" --db "$run/edge-db" --listen "127.0.0.1:$port" \
  >>"$run/edge.log" 2>&1 </dev/null &
echo $! >"$edge_pid"
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "edge did not start; see $run/edge.log"; exit 1; }

show() {
  echo
  echo "\$ $1"
  eval "$1"
  echo
}
echo "license-edge is serving the demo replica on http://127.0.0.1:$port (logs: run/edge.log)"
show "curl -s -X POST http://127.0.0.1:$port/api/v1/validate -H 'Authorization: Bearer to_live_xxxxxxxxxxxxx' -H 'Content-Type: application/json' -d '{\"key\": \"XXXX-XXXX-XXXX-XXXX\", \"domain\": \"example.com\"}'"
show "curl -s -X POST http://127.0.0.1:$port/api/v1/validate -H 'Content-Type: application/json' -d '{\"license_key\": \"DEMO-EXPD-0000-0002\"}'"
show "curl -s -X POST http://127.0.0.1:$port/api/license/auth -H 'Authorization: your-api-key-here' -H 'Content-Type: application/json' -d '{\"data\":{\"product\":\"MyProduct\",\"version\":\"1.0.0\",\"licensekey\":\"TKI-XXXXX-XXXXX\",\"ip\":\"192.168.1.1\",\"hwid\":\"unique-hardware-id\"}}'"
echo "Stop it with: scripts/run.sh stop"
