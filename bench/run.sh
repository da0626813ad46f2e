#!/usr/bin/env bash
# Migration throughput and memory against baselines measured in the same run on the same records:
#   (a) the target server's raw ingest ceiling (pre-built base64 upserts, same batch size/workers)
#   (b) chroma-migrate end to end (export + transform + import + verify), and its peak RSS
#   (c) the export phase alone vs the source server's raw paginated get
#   (d) peak RSS at N/4 and N records: it must not grow with N
#   (e) chroma-validate on the migrated run: wall time vs the migration's, peak RSS vs the raw
#       float32 size of the vectors
# Targets: (b)/(a) >= 0.95, (c) export/raw get >= 0.8, peak RSS flat, (e) <= 0.25 of the migration
# time and <= 2x the raw vector size.
#   BENCH_RECORDS (50000) BENCH_DIM (384) BENCH_WORKERS (2) BENCH_BATCH (1000) BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_RECORDS:-50000}" D="${BENCH_DIM:-384}" W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}"
dir="${BENCH_DIR:-$root/bench-work/$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: $N records x $D, batch $B, $W workers; source $S, target $T; dir $dir" >&2

seed() { "$bin/chroma-seed" "$@" --dimension "$D" --workers "$W" >>"$dir/seed.log" 2>&1 || { cat "$dir/seed.log" >&2; exit 1; }; }
seed --target "$S" --records "$N"
seed --target "$S?database=small" --records "$((N / 4))"

raw_ingest="$("$bin/chroma-bench" raw-ingest --target "$T?database=raw" --records "$N" --dimension "$D" --batch-size "$B" --workers "$W")"
raw_get="$("$bin/chroma-bench" raw-get --source "$S" --batch-size "$B" --workers "$W")"

t0=$(date +%s.%N)
"$bin/chroma-migrate" --source "$S" --target "$T?database=migrated" --work-dir "$dir/work" \
  --batch-size "$B" --workers "$W" -q
t1=$(date +%s.%N)
"$bin/chroma-migrate" --source "$S?database=small" --target "$T?database=migrated_small" \
  --work-dir "$dir/work-small" --batch-size "$B" --workers "$W" -q
v0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/validate.rss" "$bin/chroma-validate" --work-dir "$dir/work" \
  --target "$T?database=migrated" -q >"$dir/validate.out" 2>&1 || true  # verdict is in the report
v1=$(date +%s.%N)

python3 - "$raw_ingest" "$raw_get" "$t0" "$t1" "$dir/work/migration_summary.json" \
  "$dir/work-small/migration_summary.json" "$N" "$v0" "$v1" "$dir/validate.rss" \
  "$dir/work/validation_report.json" "$D" <<'PY'
import json, sys
ingest, get = json.loads(sys.argv[1]), json.loads(sys.argv[2])
wall = float(sys.argv[4]) - float(sys.argv[3])
big, small = json.load(open(sys.argv[5])), json.load(open(sys.argv[6]))
n = int(sys.argv[7])
migrate_rate = n / wall
export_rate = n / big["phase_seconds"]["export"]
rows = [
    ("raw ingest ceiling (a)", f'{ingest["records_per_second"]:.0f} rec/s', f'{ingest["seconds"]:.1f}s'),
    ("chroma-migrate end to end (b)", f"{migrate_rate:.0f} rec/s", f"{wall:.1f}s"),
    ("  of which import phase", f'{n / big["phase_seconds"]["import"]:.0f} rec/s', f'{big["phase_seconds"]["import"]:.1f}s'),
    ("raw paginated get (c)", f'{get["records_per_second"]:.0f} rec/s', f'{get["seconds"]:.1f}s'),
    ("export phase (c)", f"{export_rate:.0f} rec/s", f'{big["phase_seconds"]["export"]:.1f}s'),
]
for r in rows: print(f"{r[0]:<32}{r[1]:>14}{r[2]:>10}")
print()
print(f"migrate / raw ingest   = {migrate_rate / ingest['records_per_second']:.3f}   (target >= 0.95)")
print(f"import  / raw ingest   = {(n / big['phase_seconds']['import']) / ingest['records_per_second']:.3f}")
print(f"export  / raw get      = {export_rate / get['records_per_second']:.3f}   (target >= 0.80)")
print(f"peak RSS at N/4 = {n//4}: {small['peak_rss_mb']:.1f} MB, at N = {n}: {big['peak_rss_mb']:.1f} MB "
      f"(ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f}; flat = 1.0)")
print(f"phase seconds: {json.dumps(big['phase_seconds'])}")
vwall = float(sys.argv[9]) - float(sys.argv[8])
vrss_mb = int(open(sys.argv[10]).read().split()[-1]) / 1024
raw_mb = n * int(sys.argv[12]) * 4 / 2**20
report = json.load(open(sys.argv[11]))
print(f"validation: {vwall:.1f}s = {vwall / wall:.3f} of the migration (target <= 0.25), "
      f"peak RSS {vrss_mb:.1f} MB = {vrss_mb / raw_mb:.2f}x the raw vectors ({raw_mb:.1f} MB; target <= 2), "
      f"verdict {report['overall_status']}")
PY
