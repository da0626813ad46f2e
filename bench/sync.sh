#!/usr/bin/env bash
# Catch-up cost against the full migration measured in the same run on the same records:
#   (a) chroma-migrate end to end of BENCH_RECORDS (50,000) x BENCH_DIM (384) records
#   (b) chroma-bench mutate: BENCH_FRACTION (1%) of the records changed at the source (a third a
#       new vector, a third deleted, as many added)
#   (c) chroma-migrate --sync: finds and applies that delta; its wall time vs (a)
#   (d) a second --sync on the now quiet source (nothing to apply): what the write freeze before a
#       cutover costs at this size (the final sync reads every record)
# Targets: (c)/(a) <= 0.15; (d) printed (the write-freeze window).
#   BENCH_RECORDS (50000) BENCH_DIM (384) BENCH_FRACTION (0.01) BENCH_WORKERS (2) BENCH_BATCH (1000)
#   BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_RECORDS:-50000}" D="${BENCH_DIM:-384}" F="${BENCH_FRACTION:-0.01}"
W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}"
dir="${BENCH_DIR:-$root/bench-work/sync-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: $N records x $D, $F changed, batch $B, $W workers; dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
seconds() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$@"; }

quiet "$bin/chroma-seed" --target "$S?database=live" --records "$N" --dimension "$D" --workers "$W"
t0=$(date +%s.%N)
quiet "$bin/chroma-migrate" --source "$S?database=live" --target "$T?database=synced" \
  --work-dir "$dir/work" --batch-size "$B" --workers "$W" -q
t1=$(date +%s.%N)
mutated="$("$bin/chroma-bench" mutate --source "$S?database=live" --fraction "$F")"
t2=$(date +%s.%N)
"$bin/chroma-migrate" --sync --work-dir "$dir/work" >"$dir/sync.out" 2>&1
t3=$(date +%s.%N)
"$bin/chroma-migrate" --sync --work-dir "$dir/work" >"$dir/idle-sync.out" 2>&1
t4=$(date +%s.%N)

python3 - "$(seconds "$t0" "$t1")" "$(seconds "$t2" "$t3")" "$(seconds "$t3" "$t4")" \
  "$mutated" "$dir/sync.out" "$dir/work/run.json" "$N" <<'PY'
import json, sys
full, sync, idle = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
mutated = json.loads(sys.argv[4])
syncs = json.load(open(sys.argv[6]))["syncs"]
applied = {k: sum(c[k] for c in syncs[0]["collections"].values()) for k in ("added", "changed", "deleted")}
n = int(sys.argv[7])
print(f"full migration (a)        {full:8.1f} s   ({n} records)")
print(f"source changed (b)        {mutated['changed']} changed, {mutated['deleted']} deleted, {mutated['added']} added")
print(f"sync found and applied    {applied['changed']} changed, {applied['deleted']} deleted, {applied['added']} added; converged {syncs[0]['converged']}")
print(f"sync (c)                  {sync:8.1f} s   = {sync / full:.3f} of the migration (target <= 0.15)")
print(f"idle sync / freeze (d)    {idle:8.1f} s   = {idle / full:.3f} of the migration")
ok = (applied["changed"] == mutated["changed"] and applied["deleted"] == mutated["deleted"]
      and applied["added"] == mutated["added"])
print(f"delta {'matches' if ok else 'DOES NOT match'} what was changed")
PY
