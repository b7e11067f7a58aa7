#!/usr/bin/env bash
# Runs the three receipt verifiers (C++, Python, JavaScript) over the same receipts and checks
# each gives exactly the expected reason for every case, and the same reason as the others
# where a case allows several. make_receipts.py writes the receipts into a temporary folder for
# this run.
#   - Cases without an anchor group run in one batch per verifier, each with a fresh
#     in-memory last-seen time.
#   - Anchor groups run one process per case against one file per group and verifier, as an
#     app restarting would: the file's value is checked after every case.
# The Python verifier runs under every python3 found (PATH's and /usr/bin's) that has the
# cryptography package, so Debian's python3-cryptography is covered alongside a newer one.
# usage: run_verifiers.sh CPP_CLI
set -euo pipefail
cpp_cli="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clients="$(dirname "$here")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

reasons=" ok malformed unknown_root root_retired bad_certificate certificate_expired bad_signature"
reasons+=" issued_in_future expired status account_mismatch product_mismatch license_mismatch"
reasons+=" machine_mismatch nonce_mismatch "

# Verifiers: a name, then the command that runs its CLI.
names=()
commands=()
add_verifier() {
  names+=("$1")
  commands+=("$2")
}
add_verifier cpp "$(printf '%q' "$cpp_cli")"
node_bin="$(command -v node || true)"
if [[ -z "$node_bin" ]]; then
  echo "FAIL: node (18 or later) is needed for the JavaScript verifier" >&2
  exit 1
fi
add_verifier "node-$("$node_bin" --version)" \
  "$(printf '%q %q' "$node_bin" "$clients/js/verify_receipt_cli.mjs")"
seen_pythons=" "
fixture_python=""
for candidate in "$(command -v python3 || true)" /usr/bin/python3; do
  [[ -n "$candidate" && -x "$candidate" ]] || continue
  version="$("$candidate" -c 'import platform, cryptography
print(f"python{platform.python_version()}-cryptography{cryptography.__version__}")' 2>/dev/null)" ||
    continue
  [[ "$seen_pythons" == *" $version "* ]] && continue
  seen_pythons+="$version "
  fixture_python="${fixture_python:-$candidate}"
  add_verifier "$version" "$(printf '%q %q' "$candidate" "$clients/python/verify_receipt_cli.py")"
done
[[ -n "$fixture_python" ]] || {
  echo "FAIL: no python3 with the cryptography package (apt-get install python3-cryptography)" >&2
  exit 1
}

fixtures="$tmp/fixtures"
"$fixture_python" "$here/make_receipts.py" "$fixtures"
cd "$fixtures"

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# A verifier's answer matches the case when it is a known reason and: equal to the expected one,
# one of several joined by "|", or any refusal for "!ok".
matches() {
  local got="$1" want="$2"
  [[ -n "$got" && "$reasons" == *" $got "* ]] || return 1
  if [[ "$want" == "!ok" ]]; then
    [[ "$got" != ok ]]
    return
  fi
  [[ "|$want|" == *"|$got|"* ]]
}

# Stateless cases, one batch per verifier.
awk -F'\t' '$7 == "-"' cases.tsv >stateless.tsv
cut -f2-5 stateless.tsv >batch.tsv
cases=$(wc -l <stateless.tsv)
for i in "${!names[@]}"; do
  if ! eval "${commands[$i]} --batch" <batch.tsv >"answers-$i.txt" 2>"errors-$i.txt"; then
    fail "${names[$i]}: the batch did not complete"
    cat "errors-$i.txt" >&2
    continue
  fi
  answers=$(wc -l <"answers-$i.txt")
  ((answers == cases)) || fail "${names[$i]}: $answers answers for $cases cases"
  while IFS=$'\t' read -r name want got; do
    matches "$got" "$want" || fail "${names[$i]}: $name: got '$got', want '$want'"
  done < <(paste <(cut -f1,6 stateless.tsv) "answers-$i.txt")
done

# Where a case allows several reasons, the verifiers must still give the same one.
if ((${#names[@]} > 1)) && [[ -s answers-0.txt ]]; then
  for i in "${!names[@]}"; do
    ((i > 0)) && [[ -s "answers-$i.txt" ]] || continue
    while IFS=$'\t' read -r name first other; do
      [[ "$first" == "$other" ]] ||
        fail "$name: ${names[0]} says '$first', ${names[$i]} says '$other'"
    done < <(paste <(cut -f1 stateless.tsv) answers-0.txt "answers-$i.txt")
  done
fi

# Anchor groups, one process per case.
anchored=0
while IFS=$'\t' read -r name token jwks now expected want group before after; do
  [[ "$group" == - ]] && continue
  anchored=$((anchored + 1))
  for i in "${!names[@]}"; do
    anchor="$tmp/anchors/$i/$group"
    mkdir -p "$(dirname "$anchor")"
    [[ "$before" == - ]] || printf '%s\n' "$before" >"$anchor"
    status=0
    arguments="$(printf '%q ' "$token" "$jwks" "$now" "$expected" "$anchor")"
    got=$(eval "${commands[$i]} $arguments" 2>"$tmp/error") || status=$?
    if [[ ($status == 0 && "$got" != ok) || ($status == 1 && "$got" == ok) || $status -gt 1 ]]; then
      fail "${names[$i]}: $name: exit status $status with '$got': $(cat "$tmp/error")"
    fi
    matches "$got" "$want" || fail "${names[$i]}: $name: got '$got', want '$want'"
    stored="$(cat "$anchor" 2>/dev/null || true)"
    [[ "$after" == - || "$stored" == "$after" ]] ||
      fail "${names[$i]}: $name: last-seen '$stored' afterwards, want '$after'"
  done
done <cases.tsv

if ((failures > 0)); then
  echo "$failures failures" >&2
  exit 1
fi
echo "all $((cases + anchored)) cases agree across ${#names[@]} verifiers: ${names[*]}"
