#!/usr/bin/env bash
# 100 connections each stream a chunk line (then a trailer line) that never ends at a real
# license-edge: each must be answered 4xx or closed within 2 s (the request timeout is 10 s), and
# the edge's RSS must stay under its idle RSS + 64 MiB.
# Usage: chunk_flood_test.sh LICENSE_EDGE_BINARY DEMO_CHANGES_JSONL FLOOD_SCRIPT
set -euo pipefail
edge="$1"
demo="$2"
flood="$3"
work="$(mktemp -d)"
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$edge" --db "$work/db" --seed "$demo" --seed-only 2>/dev/null
# Port 0: the kernel picks a free port, reported in the port file once the edge serves.
"$edge" --db "$work/db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --port-file "$work/ports" \
  --threads 2 2>"$work/edge.log" &
pid=$!
for _ in $(seq 200); do [[ -s "$work/ports" ]] && break; sleep 0.05; done
[[ -s "$work/ports" ]] || { echo "edge did not start"; cat "$work/edge.log"; exit 1; }
read -r port _ <"$work/ports"

status=0
for mode in extension trailer; do
  out=$(python3 "$flood" "$port" "$pid" --connections 100 --mode "$mode" --max-mib 64 --seconds 8) || status=1
  echo "$out"
  growth=$(sed -n 's/.*growth_mib=\([0-9.]*\).*/\1/p' <<<"$out")
  slowest=$(sed -n 's/.*slowest_answer_s=\([0-9.a-z]*\).*/\1/p' <<<"$out")
  python3 -c "import sys; g, s = float('$growth'), float('$slowest'); sys.exit(0 if g < 64 and s < 2.0 else 1)" ||
    { echo "FAIL $mode: growth ${growth} MiB (limit 64), slowest answer ${slowest} s (limit 2)"; status=1; }
done
kill -0 "$pid" || { echo "FAIL: the edge died"; status=1; }
exit $status
