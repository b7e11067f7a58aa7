# Sourced by the shell tests: starts a license-edge on a fresh replica of the demo seed, on a
# port the kernel picks, and stops it on exit. Expects $edge, $demo and $threads; sets $work
# (a scratch directory), $pid and $port.
work="$(mktemp -d)"
cleanup() { [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$edge" --db "$work/db" --seed "$demo" --seed-only 2>/dev/null
# Port 0: the kernel picks a free port, reported in the port file once the edge serves.
"$edge" --db "$work/db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --port-file "$work/ports" \
  --threads "$threads" 2>"$work/edge.log" &
pid=$!
for _ in $(seq 200); do [[ -s "$work/ports" ]] && break; sleep 0.05; done
[[ -s "$work/ports" ]] || { echo "edge did not start"; cat "$work/edge.log"; exit 1; }
read -r port _ <"$work/ports"
