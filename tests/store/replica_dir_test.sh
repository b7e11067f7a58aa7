#!/usr/bin/env bash
# What the binaries do with a --db that is not a good database:
#   - --digest (and --dump) on a mistyped path fails (exit non-zero) and creates nothing;
#   - a copy of a good replica without CURRENT and its .log files, and a directory of stray .sst
#     files, are refused by license-edge and license-primary at start (exit 1, the reason
#     logged), twice in a row (a service manager restarts it), their files untouched;
#   - license-edge --rebuild-replica empties such a directory and starts over;
#   - --digest of an intact copy equals the original's.
# usage: replica_dir_test.sh EDGE_BINARY PRIMARY_BINARY DEMO_CHANGES_JSONL
set -euo pipefail
edge="$1"
primary="$2"
demo="$3"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
listing() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort); }

"$edge" --db "$tmp/good" --seed "$demo" --seed-only 2>/dev/null
good="$("$edge" --db "$tmp/good" --digest 2>/dev/null)"
[ -n "$good" ] || fail "no digest of the good replica"

for bin in "$edge" "$primary"; do
  if "$bin" --db "$tmp/typo" --digest >/dev/null 2>"$tmp/err"; then fail "$bin --digest on a missing path exited 0"; fi
  [ ! -e "$tmp/typo" ] || fail "$bin --digest created $tmp/typo"
  grep -q "no database" "$tmp/err" || fail "$bin --digest did not say why: $(cat "$tmp/err")"
done

mkdir "$tmp/partial" "$tmp/stray" "$tmp/intact"
for f in "$tmp"/good/*; do
  name="$(basename "$f")"
  cp "$f" "$tmp/intact/"
  [[ "$name" == CURRENT || "$name" == *.log ]] || cp "$f" "$tmp/partial/"
  [[ "$name" != *.sst ]] || cp "$f" "$tmp/stray/"
done
ls "$tmp"/stray/*.sst >/dev/null || fail "the good replica has no .sst file"
[ "$("$edge" --db "$tmp/intact" --digest 2>/dev/null)" = "$good" ] || fail "the intact copy differs"

for dir in partial stray; do
  before="$(listing "$tmp/$dir")"
  for bin in "$edge" "$primary"; do
    for attempt in 1 2; do
      rc=0
      timeout 20 "$bin" --db "$tmp/$dir" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        >/dev/null 2>"$tmp/err" || rc=$?
      [ "$rc" -eq 1 ] || fail "$(basename "$bin") on $dir: exit $rc, not 1"
      grep -q "no database (no CURRENT file)" "$tmp/err" ||
        fail "$(basename "$bin") on $dir did not say why: $(cat "$tmp/err")"
      [ "$(listing "$tmp/$dir")" = "$before" ] || fail "$(basename "$bin") changed $dir ($attempt)"
    done
  done
  # The operator asks for a rebuild: emptied, then seeded again here, same content.
  "$edge" --db "$tmp/$dir" --rebuild-replica --seed "$demo" --seed-only 2>/dev/null ||
    fail "--rebuild-replica on $dir"
  [ "$("$edge" --db "$tmp/$dir" --digest 2>/dev/null)" = "$good" ] || fail "rebuilt $dir differs"
done
echo "ok   damaged directories are refused, a rebuild is asked for, read-only digests"
