#!/usr/bin/env bash
# Reading a stopped server's persist directory offline against reading it over HTTP, measured in
# the same run on the same records:
#   (a) the target server's raw ingest ceiling (pre-built base64 upserts, same batch size/workers)
#   (b) chroma-migrate --source http://... (the server running): its export phase (--no-pipeline,
#       so that the export phase is the export alone)
#   (c) the server stopped; chroma-migrate --source persist:DIR of the same directory: its export
#       phase (--no-pipeline), and the whole migration against (a), sequential and pipelined
#   (d) the same at BENCH_SMALL records (25,000), so the fixed costs show
# Targets: export (c)/(b) >= 10x faster; migration (c) at the ingest ceiling (>= 0.95 of (a)).
#   BENCH_RECORDS (200000) BENCH_SMALL (25000) BENCH_DIM (384) BENCH_WORKERS (2) BENCH_BATCH (1000)
#   BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_RECORDS:-200000}" SMALL="${BENCH_SMALL:-25000}" D="${BENCH_DIM:-384}"
W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}"
dir="${BENCH_DIR:-$root/bench-work/persist-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: $N and $SMALL records x $D, batch $B, $W workers; dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
seconds() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$@"; }
migrate() {  # migrate NAME SOURCE [FLAGS]: into T?database=NAME, prints the wall seconds
  local t0 t1 name="$1" source="$2"
  shift 2
  t0=$(date +%s.%N)
  quiet "$bin/chroma-migrate" --source "$source" --target "$T?database=$name" \
    --work-dir "$dir/$name" --batch-size "$B" --workers "$W" -q "$@"
  t1=$(date +%s.%N)
  seconds "$t0" "$t1"
}

quiet "$bin/chroma-seed" --target "$S?database=big" --records "$N" --dimension "$D" --workers "$W"
quiet "$bin/chroma-seed" --target "$S?database=small" --records "$SMALL" --dimension "$D" \
  --workers "$W"
raw_ingest="$("$bin/chroma-bench" raw-ingest --target "$T?database=raw" --records "$N" \
  --dimension "$D" --batch-size "$B" --workers "$W")"
# The export phases are compared with --no-pipeline: a pipelined export phase holds the import.
http_big="$(migrate http_big "$S?database=big" --no-pipeline)"
http_small="$(migrate http_small "$S?database=small" --no-pipeline)"
"$root/scripts/chroma-server.sh" stop "$dir/src"  # a stopped server: what --source persist: is for
persist="persist:$dir/src/data"
persist_big="$(migrate persist_big "$persist?database=big" --no-pipeline)"
persist_small="$(migrate persist_small "$persist?database=small" --no-pipeline)"
persist_e2e="$(migrate persist_e2e "$persist?database=big")"  # pipelined: the end-to-end figure

python3 - "$raw_ingest" "$dir" "$N" "$SMALL" "$http_big" "$http_small" "$persist_big" \
  "$persist_small" "$persist_e2e" <<'PY'
import json, sys
ingest = json.loads(sys.argv[1])
d, n, small = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
wall = {"http_big": float(sys.argv[5]), "http_small": float(sys.argv[6]),
        "persist_big": float(sys.argv[7]), "persist_small": float(sys.argv[8])}
s = {k: json.load(open(f"{d}/{k}/migration_summary.json")) for k in wall}
ceiling = ingest["records_per_second"]
print(f"raw ingest ceiling (a)   {ceiling:10.0f} rec/s  ({n} records in {ingest['seconds']:.1f} s)")
e2e = float(sys.argv[9])
print(f"pipelined persist migration of {n}: {e2e:.1f} s = {n / e2e:.0f} rec/s = "
      f"{n / e2e / ceiling:.3f} of the ingest ceiling")
for size, count in (("big", n), ("small", small)):
    he, pe = s[f"http_{size}"]["phase_seconds"]["export"], s[f"persist_{size}"]["phase_seconds"]["export"]
    pw = wall[f"persist_{size}"]
    print(f"{count:>8} records: export over HTTP {he:7.2f} s, from the persist directory {pe:7.2f} s"
          f" = {he / pe:5.1f}x faster (target >= 10)")
    print(f"{'':>17} persist migration end to end {pw:7.2f} s = {count / pw:8.0f} rec/s"
          f" = {count / pw / ceiling:.3f} of the ingest ceiling; peak RSS"
          f" {s[f'persist_{size}']['peak_rss_mb']:.0f} MB (HTTP run {s[f'http_{size}']['peak_rss_mb']:.0f} MB)")
    print(f"{'':>17} phase seconds: persist {json.dumps(s[f'persist_{size}']['phase_seconds'])}")
    print(f"{'':>17}                http    {json.dumps(s[f'http_{size}']['phase_seconds'])}")
PY
