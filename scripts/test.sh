#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration, end-to-end).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh"
cd "$root/build"
ctest -j "${LE_JOBS:-2}" --output-on-failure --timeout 600 "$@"
