#!/usr/bin/env bash
# Reading a stopped server's persist directory offline against reading it over HTTP, measured in
# the same run on the same records:
#   (a) export phase over HTTP: chroma-migrate --source http://... --dry-run --no-pipeline (the
#       server running; a dry run writes no target, --no-pipeline makes the export phase the
#       export alone), BENCH_REPEAT times
#   (b) the server stopped: the same from --source persist:DIR of its directory, BENCH_REPEAT times
#   (c) the target's raw ingest ceiling (pre-built base64 upserts, same batch size and workers)
#       into a fresh target server, then the whole pipelined migration from the persist directory
#       into another fresh target server. Both servers start empty: Chroma keeps every database
#       of a server in one SQLite file, so an ingest into a server that already holds earlier
#       runs' records is slower, and comparing it with an ingest into an empty one would not be
#       fair.
#   (d) (a) and (b) at BENCH_SMALL records (25,000 by default), so the fixed costs show
# Targets: export (b)/(a) >= 10x faster; migration (c) at the ingest ceiling.
#   BENCH_RECORDS (200000) BENCH_SMALL (25000) BENCH_DIM (384) BENCH_WORKERS (2) BENCH_BATCH (1000)
#   BENCH_REPEAT (3) BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_RECORDS:-200000}" SMALL="${BENCH_SMALL:-25000}" D="${BENCH_DIM:-384}"
W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}" R="${BENCH_REPEAT:-3}"
dir="${BENCH_DIR:-$root/bench-work/persist-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
trap '"$root/scripts/chroma-server.sh" stop "$dir/src"; "$root/scripts/chroma-server.sh" stop "$dir/dst"
      "$root/scripts/chroma-server.sh" stop "$dir/dst2"' EXIT
echo "bench: $N and $SMALL records x $D, batch $B, $W workers, $R repeats; dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
seconds() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$@"; }
migrate() {  # migrate NAME SOURCE TARGET [FLAGS]: into TARGET?database=NAME, prints the wall seconds
  local t0 t1 name="$1" source="$2" target="$3"
  shift 3
  t0=$(date +%s.%N)
  quiet "$bin/chroma-migrate" --source "$source" --target "$target?database=$name" \
    --work-dir "$dir/$name" --batch-size "$B" --workers "$W" -q "$@"
  t1=$(date +%s.%N)
  seconds "$t0" "$t1"
}
exports() {  # exports PREFIX SOURCE: R dry-run exports named PREFIX-1..R
  for i in $(seq 1 "$R"); do migrate "$1-$i" "$2" "$T" --dry-run --no-pipeline >/dev/null; done
}

quiet "$bin/chroma-seed" --target "$S?database=big" --records "$N" --dimension "$D" --workers "$W"
quiet "$bin/chroma-seed" --target "$S?database=small" --records "$SMALL" --dimension "$D" \
  --workers "$W"
exports http_big "$S?database=big"
exports http_small "$S?database=small"
"$root/scripts/chroma-server.sh" stop "$dir/src"  # a stopped server: what --source persist: is for
persist="persist:$dir/src/data"
exports persist_big "$persist?database=big"
exports persist_small "$persist?database=small"
raw_ingest="$("$bin/chroma-bench" raw-ingest --target "$T?database=raw" --records "$N" \
  --dimension "$D" --batch-size "$B" --workers "$W")"
T2="$("$root/scripts/chroma-server.sh" start "$dir/dst2")"
persist_e2e="$(migrate persist_e2e "$persist?database=big" "$T2")"  # pipelined, as operators run it

python3 - "$raw_ingest" "$dir" "$N" "$SMALL" "$R" "$persist_e2e" <<'PY'
import json, statistics, sys
ingest = json.loads(sys.argv[1])
d, n, small, r, e2e = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
def summary(name): return json.load(open(f"{d}/{name}/migration_summary.json"))
def exports(prefix): return [summary(f"{prefix}-{i}")["phase_seconds"]["export"] for i in range(1, r + 1)]
ceiling = ingest["records_per_second"]
for size, count in (("big", n), ("small", small)):
    h, p = exports(f"http_{size}"), exports(f"persist_{size}")
    hm, pm = statistics.median(h), statistics.median(p)
    print(f"{count:>8} records, export phase (median of {r}): over HTTP {hm:6.2f} s, from the persist"
          f" directory {pm:6.2f} s = {hm / pm:5.1f}x faster (target >= 10)")
    print(f"{'':>17}runs: HTTP {', '.join(f'{x:.2f}' for x in h)}; persist {', '.join(f'{x:.2f}' for x in p)};"
          f" peak RSS {summary(f'persist_{size}-1')['peak_rss_mb']:.0f} MB"
          f" (HTTP {summary(f'http_{size}-1')['peak_rss_mb']:.0f} MB)")
e = summary("persist_e2e")
print(f"raw ingest ceiling, empty server: {ceiling:6.0f} rec/s ({n} records in {ingest['seconds']:.1f} s)")
print(f"persist migration, empty server:  {n / e2e:6.0f} rec/s ({n} records in {e2e:.1f} s, pipelined)"
      f" = {n / e2e / ceiling:.3f} of the ingest ceiling; peak RSS {e['peak_rss_mb']:.0f} MB")
print(f"  phase seconds: {json.dumps(e['phase_seconds'])}")
PY
