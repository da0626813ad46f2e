#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs unit and integration tests (the
# integration tests start their own throw-away Chroma servers).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 600 "$@"
