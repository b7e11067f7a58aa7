# shellcheck shell=bash
# Shared by the load scripts here (source it): a scratch directory and the processes started in
# it, both cleaned up on exit, and small helpers. Traffic goes to 127.0.0.1 only.
wdir="$(mktemp -d)"
pids=()  # append the pid of every process started; killed on exit
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$wdir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (at most 30 s) until a URL answers 2xx.
wait_http() { for _ in $(seq 600); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
# CPU seconds a process has used (user + system).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# CPU seconds of a process's threads by thread name ("le-io 12.30" per line; threads the
# process does not name, libnats' among them, under the process's own name).
thread_cpu_s() {
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] && echo "$(cat "$t/comm") $(sed 's/^.*) //' "$t/stat")"
  done | awk -v hz="$(getconf CLK_TCK)" '{ s[$1] += ($13 + $14) / hz }
    END { for (n in s) printf "%s %.2f\n", n, s[n] }' | sort
}
# Whether a process matching $quiet_pattern (a compiler, say) runs now; never when it is empty.
busy() { [[ -n "${quiet_pattern:-}" ]] && pgrep -f "$quiet_pattern" >/dev/null; }
