#!/usr/bin/env bash
# The speed-and-scale table, in one run, at each size of BENCH_SIZES (default "50000 200000"):
#   raw ingest   the target server's raw ingest ceiling: pre-built base64 upserts of the same
#                records, same batch size and workers (chroma-bench raw-ingest)
#   migrate      chroma-migrate end to end (export, transform, import, verify; pipelined), and
#                its ratio to the ingest ceiling. Ingest and migrate alternate BENCH_REPEAT times
#                (default 3) into fresh databases so both see the same machine, in the order
#                ABBA... (the target slows as it fills); the medians and the median of the
#                per-pair ratios are printed (target >= 0.97)
#   export       the export phase alone (a --dry-run --no-pipeline migration: export and transform,
#                no target writes) against the source's raw paginated get (chroma-bench raw-get)
#   validate     chroma-validate of the last migration against its target: seconds, ratio to the
#                ingest time of the same records (target <= 0.1) and to the raw paginated get of
#                the validated database itself, measured just before (<= 1.5): the target server
#                holds every database of the run and serves them slower than the source does
#   peak RSS     of chroma-migrate (its summary) and chroma-validate (/usr/bin/time)
#   BENCH_SIZES BENCH_REPEAT BENCH_DIM (384) BENCH_WORKERS (2) BENCH_BATCH (1000) BENCH_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${BENCH_SIZES:-50000 200000}" R="${BENCH_REPEAT:-3}" D="${BENCH_DIM:-384}"
W="${BENCH_WORKERS:-2}" B="${BENCH_BATCH:-1000}"
dir="${BENCH_DIR:-$root/bench-work/ceiling-$(date -u +%Y%m%dT%H%M%SZ)}"
source "$root/bench/servers.sh"  # bin, S (source URL), T (target URL)
echo "bench: sizes $SIZES x $D, $R pairs each, batch $B, $W workers; dir $dir" >&2
log="$dir/bench.log"
quiet() { "$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$log" >&2; exit 1; }; }
now() { date +%s.%N; }

results="$dir/results.jsonl"
for n in $SIZES; do
  quiet "$bin/chroma-seed" --target "$S?database=n$n" --records "$n" --dimension "$D" --workers "$W"
  get="$("$bin/chroma-bench" raw-get --source "$S?database=n$n" --batch-size "$B" --workers "$W")"
  # A pipelined export lasts as long as the import it feeds: the export alone is a dry run's.
  quiet "$bin/chroma-migrate" --source "$S?database=n$n" --target "$T?database=dry_$n" \
    --work-dir "$dir/export_$n" --batch-size "$B" --workers "$W" --no-pipeline --dry-run -q
  for r in $(seq 1 "$R"); do
    # The target server slows down as it holds more databases: odd pairs ingest first, even pairs
    # migrate first, so that neither side always meets the fuller server.
    ingest_now() {
      ingest="$("$bin/chroma-bench" raw-ingest --target "$T?database=raw_${n}_$r" --records "$n" \
        --dimension "$D" --batch-size "$B" --workers "$W")"
    }
    if ((r % 2 == 1)); then ingest_now; fi
    t0=$(now)
    quiet "$bin/chroma-migrate" --source "$S?database=n$n" --target "$T?database=mig_${n}_$r" \
      --work-dir "$dir/work_${n}_$r" --batch-size "$B" --workers "$W" -q
    t1=$(now)
    if ((r % 2 == 0)); then ingest_now; fi
    echo "{\"n\": $n, \"pair\": $r, \"ingest\": $ingest, \"get\": $get, \"migrate_s\": $(python3 -c "print($t1 - $t0)"), \"work\": \"$dir/work_${n}_$r\"}" >>"$results"
  done
  target_get="$("$bin/chroma-bench" raw-get --source "$T?database=mig_${n}_$R" --batch-size "$B" \
    --workers "$W")"
  v0=$(now)
  /usr/bin/time -f "%M" -o "$dir/validate_$n.rss" "$bin/chroma-validate" \
    --work-dir "$dir/work_${n}_$R" --target "$T?database=mig_${n}_$R" -q >>"$log" 2>&1 || true
  v1=$(now)  # the verdict is in the report, printed below
  echo "{\"n\": $n, \"validate_s\": $(python3 -c "print($v1 - $v0)"), \"validate_rss_kb\": $(tail -1 "$dir/validate_$n.rss"), \"report\": \"$dir/work_${n}_$R/validation_report.json\", \"target_get\": $target_get, \"export\": \"$dir/export_$n\"}" >>"$results"
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'records':>8} {'ingest rec/s':>12} {'migrate rec/s':>13} {'ratio':>6} {'ratios':>18}"
      f" {'export/get':>10} {'validate s':>10} {'/ingest':>7} {'/get':>5} {'RSS migrate':>11}"
      f" {'RSS validate':>12} verdict")
for n in sorted({r["n"] for r in rows}):
    pairs = [r for r in rows if r["n"] == n and "pair" in r]
    val = next(r for r in rows if r["n"] == n and "validate_s" in r)
    ingest = [p["ingest"]["records_per_second"] for p in pairs]
    ingest_s = [p["ingest"]["seconds"] for p in pairs]
    migrate = [n / p["migrate_s"] for p in pairs]
    ratios = [m / i for m, i in zip(migrate, ingest)]
    summaries = [json.load(open(p["work"] + "/migration_summary.json")) for p in pairs]
    export_s = json.load(open(val["export"] + "/migration_summary.json"))["phase_seconds"]["export"]
    get = pairs[0]["get"]
    report = json.load(open(val["report"]))
    print(f"{n:>8} {statistics.median(ingest):>12.0f} {statistics.median(migrate):>13.0f}"
          f" {statistics.median(ratios):>6.3f} {' '.join(f'{x:.3f}' for x in ratios):>18}"
          f" {get['seconds'] / export_s:>10.2f} {val['validate_s']:>10.1f}"
          f" {val['validate_s'] / statistics.median(ingest_s):>7.3f}"
          f" {val['validate_s'] / val['target_get']['seconds']:>5.2f}"
          f" {max(s['peak_rss_mb'] for s in summaries):>8.0f} MB {val['validate_rss_kb'] / 1024:>9.0f} MB"
          f" {report['overall_status']}")
print("targets: migrate/ingest >= 0.97 (median of the pairs); validate <= 0.1 of the ingest time"
      " and <= 1.5 of the validated database's raw get; export/get: the export phase's speed against"
      " the source's raw paginated get (1.00: as fast as the server can serve the records)")
PY
