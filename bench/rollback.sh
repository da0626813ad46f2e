#!/usr/bin/env bash
# Rollback speed, against a baseline measured in the same run on the same server:
#   (a) the target server's raw ingest ceiling (chroma-bench raw-ingest, same batch size/workers)
#   (b) rollback by rename swap after a cutover of BENCH_SWAP_RECORDS (100,000) staged records:
#       seconds from the rollback's start until every live name serves the pre-run collection
#       again (rollback_report.json live_restored_seconds). Target: < 1 s.
#   (c) rollback by restore from the verified backup of BENCH_RESTORE_RECORDS (20,000) records
#       replaced in place: restore records/s vs (a). Target: >= 0.9.
#   BENCH_SWAP_RECORDS (100000) BENCH_RESTORE_RECORDS (20000) BENCH_DIM (384) BENCH_WORKERS (2)
#   BENCH_BATCH (1000) BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NS="${BENCH_SWAP_RECORDS:-100000}" NR="${BENCH_RESTORE_RECORDS:-20000}"
D="${BENCH_DIM:-384}" W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}"
dir="${BENCH_DIR:-$root/bench-work/rollback-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: swap $NS, restore $NR records x $D, batch $B, $W workers; dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
seed() { quiet "$bin/chroma-seed" "$@" --dimension "$D" --workers "$W"; }

# (b) rename swap: stage NS records beside small live collections, validate, cut over, roll back.
seed --target "$S?database=big" --records "$NS"
seed --target "$T?database=swap" --records 400 --seed 7
echo "bench: staging $NS records (this takes a while: the server ingests ~1-2k records/s)" >&2
quiet "$bin/chroma-migrate" --source "$S?database=big" --target "$T?database=swap" \
  --work-dir "$dir/swap" --stage --if-exists replace --batch-size "$B" --workers "$W" -q
quiet "$bin/chroma-validate" --work-dir "$dir/swap" -q
quiet "$bin/chroma-migrate" --cutover --work-dir "$dir/swap"
quiet "$bin/chroma-rollback" --work-dir "$dir/swap" --force --reason "benchmark: swap back" -q

# (a) and (c): the raw ingest ceiling, then NR records replaced in place and restored from backup.
raw_ingest="$("$bin/chroma-bench" raw-ingest --target "$T?database=raw" --records "$NR" \
  --dimension "$D" --batch-size "$B" --workers "$W")"
seed --target "$S?database=small" --records "$NR"
seed --target "$T?database=inplace" --records "$NR" --seed 7
quiet "$bin/chroma-migrate" --source "$S?database=small" --target "$T?database=inplace" \
  --work-dir "$dir/inplace" --if-exists replace --batch-size "$B" --workers "$W" -q
quiet "$bin/chroma-rollback" --work-dir "$dir/inplace" --force --reason "benchmark: restore" \
  --workers "$W" -q

python3 - "$raw_ingest" "$dir/swap/rollback_report.json" "$dir/inplace/rollback_report.json" \
  "$NS" "$NR" <<'PY'
import json, sys
ingest = json.loads(sys.argv[1])
swap, restore = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
ns, nr = int(sys.argv[4]), int(sys.argv[5])
ceiling = ingest["records_per_second"]
print(f"raw ingest ceiling (a)            {ceiling:>10.0f} rec/s  ({nr} records, {ingest['seconds']:.1f}s)")
print(f"rename swap after cutover (b)     {swap['live_restored_seconds']:>10.3f} s      "
      f"({ns} staged records; target < 1 s; whole rollback incl. archive {swap['total_seconds']:.1f}s)")
rate = restore["restore_records_per_second"]
print(f"restore from backup (c)           {rate:>10.0f} rec/s  ({nr} records; "
      f"live restored after {restore['live_restored_seconds']:.1f}s, whole rollback {restore['total_seconds']:.1f}s)")
print()
print(f"swap: {'met' if swap['live_restored_seconds'] < 1 else 'NOT met'} (< 1 s)")
print(f"restore / raw ingest = {rate / ceiling:.3f}   (target >= 0.90)")
print(f"rollback status: swap {swap['status']}, restore {restore['status']} (ROLLED_BACK = restored and verified)")
PY
