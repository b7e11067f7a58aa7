#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the benchmarks and the demo need.
# Idempotent: installs only what is missing, so a second run costs a dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates procps python3
  libboost1.81-dev libsimdjson-dev librocksdb-dev libssl-dev
  prometheus-cpp-dev libnats-dev nats-server
  libgtest-dev libgmock-dev libbenchmark-dev
  wrk nginx-light
  python3-requests
  python3-flask openssl  # the spec's Flask webhook verifier; certificates for https deliveries
  python3-cryptography  # the Python offline-receipt verifier (clients/)
  prometheus  # promtool: checks deploy/prometheus and the /metrics output in the tests
  clang-14 libclang-rt-14-dev  # libFuzzer and its sanitizer runtimes (fuzz/)
  clang-format-14  # the code's format, checked by scripts/test.sh
  golang-go php-cli php-curl ruby  # the spec's Go, PHP and Ruby examples, run as written
  python3-aiosmtpd  # the SMTP sink of the license email tests
  chromium fonts-dejavu-core  # the dashboard's browser test (headless), and a font to draw it
)
# The spec's JavaScript examples run under Node.js (global fetch); use the machine's if present.
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
# The spec's Express webhook verifier runs on express from npm.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
