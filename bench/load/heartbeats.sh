#!/usr/bin/env bash
# Floating-seat heartbeats at scale: what 100,000 devices keeping their leases alive cost. Starts
# nats-server, a license-primary, two license-edge processes following its stream and an nginx
# baseline; creates LE_DEVICES / LE_SEATS floating licenses (default 100,000 devices on 10,000
# licenses of 10 seats, lease LE_LEASE_SECONDS, default 600) through the management API's batch
# route; activates every device through the edges (le-openloop, LE_ACTIVATE_RATE/s, default
# 1000, then again for the devices the primary does not list, at most 3 passes); then, in
# LE_ROUNDS rounds (default 1) of LE_DURATION (default 60s), drives wrk POST /api/v1/validate at
# edge A (random devices: key and machine_id) once without heartbeats and once while
# le-openloop offers heartbeats of distinct devices at LE_HEARTBEAT_RATE/s (default 333: each
# device every 300 s), split over both edges. Reports heartbeat p50/p99 (from each request's
# due time), where heartbeats were answered (edge or primary), the lease extensions the edges
# sent and the primary applied, the primary's CPU seconds during each window (from
# /proc/<pid>/stat), and last `validate throughput ratio heartbeats on/off: X.XXX` (the median
# of the rounds' ratios with LE_ROUNDS > 1).
# A device's heartbeat is answered at the edge only while its lease has not run out: runs longer
# than the lease after the activations (many rounds, long rounds) see heartbeats forwarded to
# the primary instead; the report says how many were answered where.
# Edges run with --no-rate-limit and, unless LE_REPORTS=1, --no-reports (so the primary's CPU is
# the leases'); LE_EDGE_FLAGS go to both edges. LE_SKIP_BUILD=1 builds nothing.
# Traffic goes to 127.0.0.1 only; every wait is bounded, every wrk and le-openloop run by
# LE_DURATION (activations: by their count / rate plus 60 s). A round starts once no process
# matches LE_QUIET_PATTERN (default "cc1plus|ninja"; empty: do not wait), for at most 10 min.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
devices="${LE_DEVICES:-100000}"
seats="${LE_SEATS:-10}"
lease_s="${LE_LEASE_SECONDS:-600}"
activate_rate="${LE_ACTIVATE_RATE:-1000}"
hb_rate="${LE_HEARTBEAT_RATE:-333}"
duration="${LE_DURATION:-60s}"
connections="${LE_CONNECTIONS:-64}"
threads="${LE_THREADS:-2}"
wrk_threads="${LE_WRK_THREADS:-2}"
rounds="${LE_ROUNDS:-1}"
quiet_pattern="${LE_QUIET_PATTERN-cc1plus|ninja}"
licenses=$(( (devices + seats - 1) / seats ))
out="$root/bench/results/heartbeats"
mkdir -p "$out"
bin="$root/build"
[[ "${LE_SKIP_BUILD:-0}" == 1 ]] || bash "$root/scripts/build.sh" >/dev/null

# shellcheck source=bench/load/lib.sh
source "$root/bench/load/lib.sh"
secs() { local v="$1"; v="${v%s}"; echo "$v"; }
# The sum of a metric's samples whose labels contain $3 (or all), at admin port $1.
metric() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" -v l="${3:-}" '
    index($1, n) == 1 && (substr($1, length(n) + 1, 1) == "{" || length($1) == length(n)) &&
    (l == "" || index($1, l) > 0) { s += $2 } END { printf "%.0f", s }'
}
edges_metric() {  # the same, summed over both edges
  echo $(( $(metric "${admin[a]}" "$1" "$2") + $(metric "${admin[b]}" "$1" "$2") ))
}

# ---- the deployment
nats_port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$wdir/nats" 2>"$out/nats.log" &
pids+=($!)
nats_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.05; done
primary_port=$(free_port)
primary_admin=$(free_port)
LE_ADMIN_TOKEN=bench "$bin/src/primary/license-primary" --db "$wdir/primary" \
  --listen "127.0.0.1:$primary_port" --admin-listen "127.0.0.1:$primary_admin" \
  --nats "nats://127.0.0.1:$nats_port" 2>"$out/primary.log" &
pids+=($!)
primary_pid=$!
wait_http "http://127.0.0.1:$primary_port/healthz"

edge_flags=(--no-rate-limit)
[[ "${LE_REPORTS:-0}" == 1 ]] || edge_flags+=(--no-reports)
declare -A port admin pid
for name in a b; do
  port[$name]=$(free_port)
  admin[$name]=$(free_port)
  "$bin/src/edge/license-edge" --db "$wdir/edge-$name" --listen "127.0.0.1:${port[$name]}" \
    --admin-listen "127.0.0.1:${admin[$name]}" --threads "$threads" --edge-id "bench-$name" \
    --nats "nats://127.0.0.1:$nats_port" "${edge_flags[@]}" ${LE_EDGE_FLAGS:-} \
    2>"$out/edge-$name.log" &
  pids+=($!)
  pid[$name]=$!
  wait_http "http://127.0.0.1:${admin[$name]}/readyz"
done

nginx_dir="$wdir/nginx"
mkdir -p "$nginx_dir"
nginx_port=$(free_port)
sed -e "s|@DIR@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$threads|g" \
  "$root/bench/load/nginx.conf.in" >"$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/healthz"

# ---- the licenses and devices
# setup: an account, a product and the floating licenses; writes ids.txt ("id key" per license),
# devices-{a,b}.jsonl (one {"license_key","machine_id"} per device: licenses of even index are
# edge A's devices, odd edge B's; seat-major, so consecutive lines are different licenses) and
# validate.txt ("key machine" per device).
# missing: lists the licenses at the primary and writes missing-{a,b}.jsonl, the devices it does
# not list as holding a seat; prints their number.
cat >"$wdir/leases.py" <<'PY'
import json, sys, urllib.request

def call(base, method, path, token, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())

def read_licenses(wdir):
    with open(wdir + "/ids.txt") as f:
        return [line.split() for line in f if line.strip()]

def device_order(lics, seats, count):
    # (license index, seat) of the first `count` devices, seat-major; the device's machine id is
    # "dev-<license index>-<seat>".
    return [(l, k) for k in range(seats) for l in range(len(lics))][:count]

def setup(base, admin, wdir, n_devices, seats, lease):
    call(base, "POST", "/admin/v1/accounts", admin, {"id": "acc_leases", "plan": "enterprise"})
    key = call(base, "POST", "/admin/v1/accounts/acc_leases/api-keys", admin,
               {"mode": "live"})["apiKey"]["key"]
    product = call(base, "POST", "/api/v1/products", key,
                   {"name": "Floating", "platforms": ["linux"], "lease_seconds": lease})["product"]["id"]
    n = (n_devices + seats - 1) // seats
    lics = []
    while len(lics) < n:
        k = min(1000, n - len(lics))
        body = {"licenses": [{"product_id": product, "type": "floating", "max_activations": seats,
                              "lease_seconds": lease}] * k}
        lics += [(l["id"], l["key"]) for l in
                 call(base, "POST", "/api/v1/licenses/batch", key, body)["licenses"]]
    with open(wdir + "/ids.txt", "w") as f:
        f.write("".join("%s %s\n" % l for l in lics))
    with open(wdir + "/api_key", "w") as f:
        f.write(key + "\n")
    files = {e: open(wdir + "/devices-%s.jsonl" % e, "w") for e in "ab"}
    with open(wdir + "/validate.txt", "w") as v:
        for l, k in device_order(lics, seats, n_devices):
            machine = "dev-%d-%d" % (l, k)
            files["ab"[l % 2]].write(json.dumps({"license_key": lics[l][1], "machine_id": machine},
                                                separators=(",", ":")) + "\n")
            v.write("%s %s\n" % (lics[l][1], machine))
    for f in files.values():
        f.close()

def missing(base, wdir, n_devices, seats):
    lics = read_licenses(wdir)
    with open(wdir + "/api_key") as f:
        key = f.read().strip()
    held = {}
    page = 1
    while page <= 100000:
        r = call(base, "GET", "/api/v1/licenses?limit=100&page=%d" % page, key)
        for l in r["data"]:
            held[l["id"]] = {m["machineId"] for m in l.get("machines", [])}
        if not r["pagination"].get("hasMore"):
            break
        page += 1
    files = {e: open(wdir + "/missing-%s.jsonl" % e, "w") for e in "ab"}
    count = 0
    for l, k in device_order(lics, seats, n_devices):
        machine = "dev-%d-%d" % (l, k)
        if machine not in held.get(lics[l][0], ()):
            files["ab"[l % 2]].write(json.dumps({"license_key": lics[l][1], "machine_id": machine},
                                                separators=(",", ":")) + "\n")
            count += 1
    for f in files.values():
        f.close()
    print(count)

if sys.argv[1] == "setup":
    setup(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
else:
    missing(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
PY
primary_url="http://127.0.0.1:$primary_port"
setup_t0=$SECONDS
python3 "$wdir/leases.py" setup "$primary_url" bench "$wdir" "$devices" "$seats" "$lease_s"
echo "created $licenses floating licenses in $((SECONDS - setup_t0)) s" >&2

# Activations through both edges at once, half the rate each; `openloop_post` FILE EDGE RATE
# PATH [extra le-openloop flags] -> le-openloop's line.
openloop_post() {
  local file="$1" edge="$2" rate="$3" path="$4"
  shift 4
  "$bin/bench/le-openloop" --host 127.0.0.1 --port "${port[$edge]}" --rate "$rate" \
    --path "$path" --bodies "$file" "$@"
}
half_a=$(( (activate_rate + 1) / 2 ))
half_b=$(( activate_rate / 2 ))
(( half_b >= 1 )) || half_b=1
activation_t0=$SECONDS
cp "$wdir/devices-a.jsonl" "$wdir/missing-a.jsonl"
cp "$wdir/devices-b.jsonl" "$wdir/missing-b.jsonl"
left=$devices
passes=0
: >"$out/activations.txt"
while (( left > 0 && passes < 3 )); do
  passes=$((passes + 1))
  bg=()
  for e in a b; do
    n=$(wc -l <"$wdir/missing-$e.jsonl")
    (( n > 0 )) || continue
    rate=$half_a
    [[ "$e" == a ]] || rate=$half_b
    openloop_post "$wdir/missing-$e.jsonl" "$e" "$rate" /api/v1/activate --count "$n" \
      --connections 32 --timeout 60 >"$wdir/act-$e.txt" &
    bg+=($!)
  done
  for p in "${bg[@]}"; do wait "$p"; done
  for e in a b; do
    [[ ! -s "$wdir/act-$e.txt" ]] || echo "pass $passes edge $e: $(cat "$wdir/act-$e.txt")" >>"$out/activations.txt"
  done
  left=$(python3 "$wdir/leases.py" missing "$primary_url" "$wdir" "$devices" "$seats")
  echo "activation pass $passes: $left devices without a seat" >&2
done
activation_s=$((SECONDS - activation_t0))
held=$((devices - left))

# Both edges hold every lease before the rounds (a heartbeat of a lease the replica does not hold
# yet is forwarded): the last devices activated through each edge validate at both, the stream
# being in order; at most 120 s.
validate_device() {  # port body -> the answer's code
  curl -fsS -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/api/v1/validate" |
    sed -n 's/.*"code":"\([A-Z_]*\)".*/\1/p'
}
sync_t0=$SECONDS
for f in "$wdir/devices-a.jsonl" "$wdir/devices-b.jsonl"; do
  while read -r body; do
    for e in a b; do
      for _ in $(seq 240); do
        [[ "$(validate_device "${port[$e]}" "$body" || true)" == VALID ]] && break
        sleep 0.5
      done
    done
  done < <(tail -n 3 "$f")
done
sync_s=$((SECONDS - sync_t0))
(( SECONDS - activation_t0 < lease_s )) ||
  echo "warning: activating took longer than the lease (${lease_s} s): edges forward heartbeats of lapsed leases" >&2

# ---- the rounds
summarize() {  # wrk output -> "rps p50_ms p99_ms non2xx"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { non2xx = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, non2xx }' "$1"
}
drive() {  # name port duration -> summary
  LE_KEYS_FILE="$wdir/validate.txt" wrk -t"$wrk_threads" -c"$connections" -d"$3" --latency \
    -s "$root/bench/load/validate.lua" "http://127.0.0.1:$2" >"$out/wrk-$1.txt"
  summarize "$out/wrk-$1.txt"
}
rotate() {  # file offset -> the file's lines from offset on, then the first offset
  awk -v off="$2" 'NR > off' "$1"
  awk -v off="$2" 'NR <= off' "$1"
}
hb_a=$(( (hb_rate + 1) / 2 ))
hb_b=$(( hb_rate / 2 ))
(( hb_b >= 1 )) || hb_b=1
per_round_a=$(( hb_a * $(secs "$duration") ))
per_round_b=$(( hb_b * $(secs "$duration") ))
lines_a=$(wc -l <"$wdir/devices-a.jsonl")
lines_b=$(wc -l <"$wdir/devices-b.jsonl")

drive warm "${port[a]}" "${LE_WARMUP:-5s}" >/dev/null
: >"$out/rounds.txt"
: >"$out/heartbeats.txt"
hb_round=0
declare -A c0 c1
cpu() { awk -v a="${c0[$1]}" -v b="${c1[$1]}" 'BEGIN { printf "%.2f", b - a }'; }
for r in $(seq "$rounds"); do
  for _ in $(seq 120); do busy || break; sleep 5; done
  order=(off on)
  (( r % 2 == 1 )) || order=(on off)
  for mode in "${order[@]}"; do
    for e in a b; do c0[$e]=$(cpu_s "${pid[$e]}"); done
    c0[primary]=$(cpu_s "$primary_pid")
    c0[nats]=$(cpu_s "$nats_pid")
    m0_edge=$(edges_metric le_edge_heartbeats_total 'answered="edge"')
    m0_fwd=$(edges_metric le_edge_heartbeats_total 'answered="primary"')
    m0_sent=$(edges_metric le_edge_lease_extensions_total 'outcome="sent"')
    m0_ext=$(metric "$primary_admin" le_primary_lease_extensions_total 'outcome="extended"')
    m0_ref=$(metric "$primary_admin" le_primary_lease_extensions_total 'outcome="refused"')
    bg=()
    if [[ "$mode" == on ]]; then
      # Distinct devices in every round: each starts where the last one stopped.
      rotate "$wdir/devices-a.jsonl" $(( hb_round * per_round_a % lines_a )) >"$wdir/hb-a.jsonl"
      rotate "$wdir/devices-b.jsonl" $(( hb_round * per_round_b % lines_b )) >"$wdir/hb-b.jsonl"
      hb_round=$((hb_round + 1))
      openloop_post "$wdir/hb-a.jsonl" a "$hb_a" /api/v1/heartbeat --duration "$duration" \
        --connections 16 >"$wdir/hb-a.txt" &
      bg+=($!)
      openloop_post "$wdir/hb-b.jsonl" b "$hb_b" /api/v1/heartbeat --duration "$duration" \
        --connections 16 >"$wdir/hb-b.txt" &
      bg+=($!)
    fi
    line=$(drive "$mode-$r" "${port[a]}" "$duration")
    for p in "${bg[@]}"; do wait "$p"; done
    sleep 2  # the last batch of extensions leaves the edges and is applied
    for e in a b; do c1[$e]=$(cpu_s "${pid[$e]}"); done
    c1[primary]=$(cpu_s "$primary_pid")
    c1[nats]=$(cpu_s "$nats_pid")
    echo "$mode $line $(cpu primary) $(cpu a) $(cpu b) $(cpu nats)" >>"$out/rounds.txt"
    if [[ "$mode" == on ]]; then
      m_edge=$(( $(edges_metric le_edge_heartbeats_total 'answered="edge"') - m0_edge ))
      m_fwd=$(( $(edges_metric le_edge_heartbeats_total 'answered="primary"') - m0_fwd ))
      m_sent=$(( $(edges_metric le_edge_lease_extensions_total 'outcome="sent"') - m0_sent ))
      m_ext=$(( $(metric "$primary_admin" le_primary_lease_extensions_total 'outcome="extended"') -
        m0_ext ))
      m_ref=$(( $(metric "$primary_admin" le_primary_lease_extensions_total 'outcome="refused"') -
        m0_ref ))
      {
        echo "$r a $(cat "$wdir/hb-a.txt")"
        echo "$r b $(cat "$wdir/hb-b.txt")"
        echo "$r answered-edge $m_edge forwarded $m_fwd sent $m_sent extended $m_ext refused $m_ref"
      } >>"$out/heartbeats.txt"
    fi
  done
done
nginx_line=$(drive nginx "$nginx_port" "${LE_NGINX_DURATION:-10s}")

median() {  # file mode column -> median over the rounds
  awk -v t="$2" -v c="$3" '$1 == t { print $c }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
hb_median() {  # edge column -> median of le-openloop's column over the rounds
  awk -v e="$1" -v c="$2" '$2 == e { print $(c + 2) }' "$out/heartbeats.txt" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
{
  echo "devices: $devices on $licenses floating licenses x $seats seats, lease ${lease_s} s; edges: $threads threads, $([[ "${LE_REPORTS:-0}" == 1 ]] && echo reports on || echo --no-reports)"
  echo "activation: $held of $devices devices hold a seat at the primary after $passes pass(es), ${activation_s} s (offered ${activate_rate}/s)"
  sed 's/^/  /' "$out/activations.txt"
  echo "both edges held the last activated devices' leases ${sync_s} s after the last pass"
  echo "heartbeats offered: ${hb_rate}/s (${hb_a}/s to edge A, ${hb_b}/s to edge B), distinct devices, for $duration x $rounds round(s)"
  echo "validate: wrk -t$wrk_threads -c$connections against edge A, random devices (key + machine_id)"
  printf "%-22s %10s %10s %10s %8s %12s %10s %10s %8s\n" "heartbeats" "req/s" "p50 ms" "p99 ms" \
    "non-2xx" "primary cpu" "edge A cpu" "edge B cpu" "nats cpu"
  for mode in off on; do
    printf "%-22s %10.0f %10.3f %10.3f %8.0f %12.2f %10.2f %10.2f %8.2f\n" "$mode" \
      "$(median "$out/rounds.txt" "$mode" 2)" "$(median "$out/rounds.txt" "$mode" 3)" \
      "$(median "$out/rounds.txt" "$mode" 4)" "$(median "$out/rounds.txt" "$mode" 5)" \
      "$(median "$out/rounds.txt" "$mode" 6)" "$(median "$out/rounds.txt" "$mode" 7)" \
      "$(median "$out/rounds.txt" "$mode" 8)" "$(median "$out/rounds.txt" "$mode" 9)"
  done
  echo "per round (mode req/s p50 p99 non-2xx primary-cpu edgeA-cpu edgeB-cpu nats-cpu):"
  sed 's/^/  /' "$out/rounds.txt"
  echo "heartbeats (le-openloop, latency from each request's due time; round edge sent ok non2xx errors req/s p50 p99 p99.9 max):"
  sed 's/^/  /' "$out/heartbeats.txt"
  echo "nginx (fixed body), same wrk settings: $nginx_line (req/s p50 p99 non-2xx)"
  awk -v on="$(median "$out/rounds.txt" on 6)" -v off="$(median "$out/rounds.txt" off 6)" \
    -v n="$(( (hb_a + hb_b) * $(secs "$duration") ))" \
    'BEGIN { printf "primary CPU seconds during the window: %.2f with heartbeats, %.2f without; %.1f us per heartbeat\n",
      on, off, (n > 0) ? (on - off) * 1e6 / n : 0 }'
  for e in a b; do
    echo "heartbeat latency edge $e: p50 $(hb_median "$e" 6) ms, p99 $(hb_median "$e" 7) ms, non-2xx $(hb_median "$e" 3), errors $(hb_median "$e" 4)"
  done
  awk -v on="$(median "$out/rounds.txt" on 2)" -v off="$(median "$out/rounds.txt" off 2)" \
    -v ng="$(awk '{ print $1 }' <<<"$nginx_line")" \
    'BEGIN { if (ng > 0) printf "edge/nginx validate throughput ratio (no heartbeats): %.3f\n", off / ng }'
  awk '$1 == "off" { off = $2 } $1 == "on" { on = $2 } NR % 2 == 0 { if (off > 0) print on / off }' \
    "$out/rounds.txt" | sort -g | awk '{ v[NR] = $1 } END { if (NR > 0)
      printf "validate throughput ratio heartbeats on/off: %.3f\n",
        (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
} | tee "$out/summary.txt"
