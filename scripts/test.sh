#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs unit and integration tests (the
# integration tests start their own throw-away Chroma servers).
#
#   scripts/test.sh [ctest args...]   the whole suite on the Release build in build/
#   scripts/test.sh --sanitize        the unit tests built with AddressSanitizer and
#                                     UndefinedBehaviorSanitizer and warnings as errors, in
#                                     build-sanitize/ (CI runs both)
#   scripts/test.sh --sanitize --build-only   builds that tree and stops (CI builds it while the
#                                     Release tests run: they mostly wait on servers)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  dir="$root/build-sanitize"
  # A unity build (12 files per compile): the sanitizer tree is a second, from-scratch build of
  # code the Release tree has already compiled file by file (which is what catches a missing
  # include), and at -O0 with ASan most of each compile is generating the same inline templates
  # (nlohmann::json, fmt) once more per file. Batched: 17 CPU minutes instead of 23.
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCHROMA_MIGRATE_SANITIZE=ON \
        -DCHROMA_MIGRATE_WERROR=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=12 >/dev/null
  log="$dir/build.log"
  if ! cmake --build "$dir" -j"$(nproc)" --target unit_tests >"$log" 2>&1; then
    grep -E "error|Error" "$log" | head -40 >&2
    echo "sanitizer build failed; full log: $log" >&2
    exit 1
  fi
  if [[ "${1:-}" == "--build-only" ]]; then
    echo "sanitizer build: ok ($dir)"
    exit 0
  fi
  cd "$dir"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j2 --timeout 600 -L unit "$@"
  exit 0
fi
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 600 "$@"
