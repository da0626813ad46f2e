#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, build, start two throw-away
# Chroma servers, seed the source with a realistic corpus (20,000 chunks, 4 collections, cosine/l2/ip,
# mixed metadata types), then the operator flow (scripts/cutover.sh) twice: a clean staged run
# that validates PASSED and cuts over, and a run with an injected fault that validates FAILED and
# is rolled back automatically. Prints where every report is.
#   DEMO_RECORDS=N   corpus size (default 20000)
#   DEMO_DIR=DIR     where servers, work dir and logs go (default demo-work/<UTC stamp>)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

demo="${DEMO_DIR:-$root/demo-work/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$demo"
stop_servers() {
  "$root/scripts/chroma-server.sh" stop "$demo/source-server" || true
  "$root/scripts/chroma-server.sh" stop "$demo/target-server" || true
}
trap stop_servers EXIT

source_url="$("$root/scripts/chroma-server.sh" start "$demo/source-server")"
target_url="$("$root/scripts/chroma-server.sh" start "$demo/target-server")"
echo "demo: source Chroma at $source_url, target Chroma at $target_url"

"$root/build/bin/chroma-seed" --target "$source_url" --records "${DEMO_RECORDS:-20000}"

# Run 1, the clean cutover: the old flat schema into the 12-field v2 schema across four new
# collections, checked against the v2 contract, staged beside the live names. First a dry run
# (nothing is written to the target), then scripts/cutover.sh resumes it: migrate (the export and
# transform are not repeated), validate, and on PASSED swap the staged collections in by renaming.
mapping=(--mapping "$root/contracts/examples/flat_to_v2.mapping.json"
         --contract "$root/contracts/examples/v2.contract.json" --workers 2)
run1="$demo/run1-clean"
"$root/build/bin/chroma-migrate" --source "$source_url" --target "$target_url" --work-dir "$run1" \
  --stage --dry-run "${mapping[@]}"
"$root/scripts/cutover.sh" --source "$source_url" --target "$target_url" --work-dir "$run1" \
  --staged -- "${mapping[@]}"

# Run 2, the failure: the same migration again, in place over the now-live collections
# (--if-exists replace backs them up first), with a fault injected on the wire: the 3rd upsert
# silently corrupts one vector. The counts still match, so only validation can see it; the FAILED
# verdict triggers chroma-rollback, which archives the bad data, restores the live collections from
# the verified backup and verifies them record by record.
run2="$demo/run2-faulty"
set +e
"$root/scripts/cutover.sh" --source "$source_url" --target "$target_url" --work-dir "$run2" \
  --inject-fault "target.upsert=corrupt@3" -- "${mapping[@]}" --if-exists replace
rc=$?
set -e
if [[ $rc -ne 2 ]]; then
  echo "demo: expected run 2 to be caught and rolled back (exit 2), got exit $rc" >&2
  exit 1
fi

cat <<MSG

demo: both outcomes shown.
  run 1 (clean, staged, cut over):   $run1
    plan (dry run):      $run1/plan.md
    validation report:   $run1/validation_report.md (.json beside it)
    run manifest:        $run1/run.json (cutover journal: every rename)
  run 2 (fault injected, rolled back): $run2
    validation report:   $run2/validation_report.md  (FAILED: embedding integrity)
    rollback report:     $run2/rollback_report.md   (.json beside it)
    archive of the bad attempt: $run2/snapshots/archive
    backup it restored:  $run2/snapshots/backup
  each work dir also has: migration_summary.json, transform_report.json, audit.jsonl, logs/
  server data:   $demo/source-server, $demo/target-server (servers stopped on exit)
MSG
