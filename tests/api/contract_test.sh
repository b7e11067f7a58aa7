#!/usr/bin/env bash
# The OpenAPI contract, against running processes: a nats-server (JetStream) on a port it picks,
# a license-primary and a license-edge following it. Both documents, as served at
# /api/v1/openapi.json, must lint clean with @redocly/cli (its recommended rules, warnings
# included); then contract.mjs sends every documented operation and validates each answer
# against the document (ajv). The npm tools are pinned by package-lock.json and installed once
# into WORK_DIR.
# usage: contract_test.sh PRIMARY_BINARY EDGE_BINARY WORK_DIR
set -euo pipefail
primary="$1"
edge="$2"
work="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mkdir -p "$work"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
wait_until() {  # seconds, command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# ---- the tools, as the lock file pins them
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" ||
  [ ! -x "$work/node_modules/.bin/redocly" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null) || fail "npm ci"
fi

# ---- nats-server on a port of its choosing (-p -1), read from its ports file
mkdir -p "$tmp/ports"
nats-server -js -a 127.0.0.1 -p -1 -sd "$tmp/nats" --ports_file_dir "$tmp/ports" \
  >"$tmp/nats.log" 2>&1 &
pids+=($!)
nats_ports() { compgen -G "$tmp/ports/*.ports" >/dev/null; }
wait_until 20 nats_ports || fail "nats-server did not start"
nats_url="$(python3 -c 'import json,sys,glob; print(json.load(open(glob.glob(sys.argv[1])[0]))["nats"][0])' "$tmp/ports/*.ports")"

# ---- the primary and an edge following it
LE_ADMIN_TOKEN=contract-token "$primary" --db "$tmp/primary-db" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --port-file "$tmp/primary.ports" --nats "$nats_url" \
  --webhooks-allow-private >"$tmp/primary.log" 2>&1 &
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
