#!/usr/bin/env bash
# Configures and builds the Release tree in build/ (binaries in build/bin/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$(nproc)" 2>&1 | grep -E "error|warning|Linking" || true
test -x "$root/build/bin/chroma-migrate"
