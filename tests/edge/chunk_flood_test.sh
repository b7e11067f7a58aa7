#!/usr/bin/env bash
# 100 connections each stream a chunk line (then a trailer line) that never ends at a real
# license-edge: each must be answered 4xx or closed within 2 s (the request timeout is 10 s), and
# the edge's RSS must stay under its idle RSS + 64 MiB.
# Usage: chunk_flood_test.sh LICENSE_EDGE_BINARY DEMO_CHANGES_JSONL FLOOD_SCRIPT
set -euo pipefail
edge="$1"
demo="$2"
flood="$3"
threads=2
source "$(dirname "${BASH_SOURCE[0]}")/demo_edge.sh"

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
