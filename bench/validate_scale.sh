#!/usr/bin/env bash
# Validation in bounded memory: one collection of BENCH_RECORDS (300000 and 1000000 by default,
# space separated) x BENCH_DIM (384) records generated into a snapshot directory, migrated into
# another snapshot directory, then validated. Prints the validation's wall time and peak RSS
# against the raw float32 size of the vectors. Target: peak RSS <= 256 MB at every size (flat in
# N), for the migration as for the validation. No server is involved: this measures the binaries'
# own memory, not a server's.
#   BENCH_RECORDS ("300000 1000000") BENCH_DIM (384) BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes="${BENCH_RECORDS:-300000 1000000}" D="${BENCH_DIM:-384}"
dir="${BENCH_DIR:-$root/bench-work/validate-scale-$(date -u +%Y%m%dT%H%M%SZ)}"
"$root/scripts/install-deps.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
bin="$root/build/bin"
mkdir -p "$dir"
for n in $sizes; do
  d="$dir/$n"
  "$bin/chroma-seed" --target "snapshot:$d/src" --records "$n" --collections 1 --dimension "$D" \
    >"$d.seed.log" 2>&1
  /usr/bin/time -f "%e %M" -o "$d.migrate.time" "$bin/chroma-migrate" --source "snapshot:$d/src" \
    --target "snapshot:$d/dst" --work-dir "$d/work" -q >"$d.migrate.log" 2>&1
  read -r mwall mrss_kb <"$d.migrate.time"
  /usr/bin/time -f "%e %M" -o "$d.time" "$bin/chroma-validate" --work-dir "$d/work" -q \
    >"$d.validate.log" 2>&1 || true  # the verdict is in the report
  read -r wall rss_kb <"$d.time"
  python3 - "$n" "$D" "$wall" "$rss_kb" "$d/work/validation_report.json" "$mwall" "$mrss_kb" <<'PY'
import json, sys
n, dim, wall, rss_kb = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
verdict = json.load(open(sys.argv[5]))["overall_status"]
mwall, mrss_kb = float(sys.argv[6]), int(sys.argv[7])
raw_mb = n * dim * 4 / 2**20
print(f"{n:>9} x {dim}: migrate {mwall:6.1f} s, peak RSS {mrss_kb / 1024:6.0f} MB; "
      f"validation {wall:6.1f} s, peak RSS {rss_kb / 1024:6.0f} MB "
      f"(raw vectors {raw_mb:6.0f} MB; target <= 256 MB each), verdict {verdict}")
PY
  rm -rf "$d"  # several GB of snapshots per size
done
