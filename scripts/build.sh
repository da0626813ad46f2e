#!/usr/bin/env bash
# Configures and builds the Release tree in build/ (binaries in build/bin/). Fails, printing the
# errors, when anything does not compile; the full log is build/build.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
log="$root/build/build.log"
if ! cmake --build "$root/build" -j"$(nproc)" >"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -40 >&2
  echo "build failed; full log: $log" >&2
  exit 1
fi
grep -E "warning:" "$log" | head -20 >&2 || true
echo "build: ok ($root/build/bin)"
