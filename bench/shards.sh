#!/usr/bin/env bash
# The cost of sharding on one target server, measured in the same run on the same records:
#   (a) one chroma-migrate process with N x W workers
#   (b) N shards (--shard I/N, same --run-id) of W workers each, started together (GNU parallel's
#       role played by the shell: N background processes), wall time until the last one ends
# Pairs alternate BENCH_REPEAT times (default 2) into fresh databases; prints each pair and the
# median overhead (b)/(a) - 1 (target <= 0.05). Then one merged validation over the last shards.
#   BENCH_RECORDS (50000) BENCH_SHARDS (3) BENCH_DIM (384) BENCH_WORKERS (per shard, 2)
#   BENCH_BATCH (1000) BENCH_REPEAT BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_RECORDS:-50000}" K="${BENCH_SHARDS:-3}" D="${BENCH_DIM:-384}" W="${BENCH_WORKERS:-2}"
B="${BENCH_BATCH:-1000}" R="${BENCH_REPEAT:-2}"
dir="${BENCH_DIR:-$root/bench-work/shards-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: $N records x $D, $K shards x $W workers vs 1 process x $((K * W)); dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
now() { date +%s.%N; }
quiet "$bin/chroma-seed" --target "$S" --records "$N" --dimension "$D" --workers "$W"

pairs=()
for r in $(seq 1 "$R"); do
  t0=$(now)
  quiet "$bin/chroma-migrate" --source "$S" --target "$T?database=one_$r" \
    --work-dir "$dir/one_$r" --batch-size "$B" --workers "$((K * W))" -q
  t1=$(now)
  pids=()
  for i in $(seq 0 $((K - 1))); do
    "$bin/chroma-migrate" --source "$S" --target "$T?database=sharded_$r" --run-id "bench-$r" \
      --shard "$i/$K" --work-dir "$dir/sharded_$r/shard-$i" --batch-size "$B" --workers "$W" \
      -q >>"$log" 2>&1 &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "bench: a shard failed" >&2; tail -20 "$log" >&2; exit 1; }; done
  t2=$(now)
  pairs+=("$(python3 -c "print($t1 - $t0, $t2 - $t1)")")
done
shard_dirs=()
for i in $(seq 0 $((K - 1))); do shard_dirs+=(--work-dir "$dir/sharded_$R/shard-$i"); done
"$bin/chroma-validate" "${shard_dirs[@]}" --target "$T?database=sharded_$R" -q >>"$log" 2>&1 || true

python3 - "$N" "$K" "$dir/sharded_$R/shard-0/validation_report.json" "${pairs[@]}" <<'PY'
import json, statistics, sys
n, k, report = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pairs = [tuple(map(float, p.split())) for p in sys.argv[4:]]
for one, sharded in pairs:
    print(f"one process {one:7.1f} s ({n / one:6.0f} rec/s)   {k} shards {sharded:7.1f} s"
          f" ({n / sharded:6.0f} rec/s)   overhead {sharded / one - 1:+.3f}")
print(f"median overhead {statistics.median(s / o - 1 for o, s in pairs):+.3f} (target <= 0.05);"
      f" merged validation of the last shards: {json.load(open(report))['overall_status']}")
PY
