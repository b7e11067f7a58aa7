# Sourced by the shell tests that run processes: a scratch directory $tmp removed on exit, the
# children whose pids are in `pids` killed on exit, fail() with the end of every log in $tmp, and
# wait_until SECONDS COMMAND... polling a command until it succeeds.
tmp="$(mktemp -d)"
pids=()
cleanup() {
  # Only children still running: a pid this shell has reaped (a process the test stopped and
  # waited for) may by now be another test's process — pids wrap around at pid_max.
  local live=" $(jobs -pr | tr '\n' ' ') "
  for p in "${pids[@]}"; do
    [[ "$live" == *" $p "* ]] && { kill "$p" 2>/dev/null || true; }
  done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
# npm_tools SOURCE_DIR WORK_DIR INSTALLED_PATH: the npm tools SOURCE_DIR's package-lock.json pins,
# installed into WORK_DIR once (again when the lock file changes).
npm_tools() {
  if ! cmp -s "$1/package-lock.json" "$2/package-lock.json" || [ ! -e "$2/$3" ]; then
    cp "$1/package.json" "$1/package-lock.json" "$2/"
    (cd "$2" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null) || fail "npm ci"
  fi
}
# start_nats: a nats-server with JetStream on a loopback port of its choosing (-p -1), read from
# its ports file into $nats_url.
start_nats() {
  mkdir -p "$tmp/ports"
  nats-server -js -a 127.0.0.1 -p -1 -sd "$tmp/nats" --ports_file_dir "$tmp/ports" \
    >"$tmp/nats.log" 2>&1 &
  pids+=($!)
  wait_until 20 compgen -G "$tmp/ports/*.ports" >/dev/null || fail "nats-server did not start"
  nats_url="$(python3 -c 'import json,sys,glob; print(json.load(open(glob.glob(sys.argv[1])[0]))["nats"][0])' "$tmp/ports/*.ports")"
}
