#!/usr/bin/env bash
# The operator flow, unattended: migrate, validate, then either cut over or roll back.
#
#   scripts/cutover.sh --source URI --target URI --work-dir DIR [--staged] [--accept-warning]
#                      [--inject-fault SPEC] [-- extra chroma-migrate flags...]
#
#   1. chroma-migrate (with --stage when --staged; --resume when DIR already holds the run).
#      A migrate failure that leaves the target suspect (exit 6 verify failed, 7 corruption,
#      10 contract violation after writes) is rolled back (--force); any other failure stops here
#      with the run intact, to be resumed.
#   2. chroma-validate.
#   3. PASSED: a staged run is swapped in (chroma-migrate --cutover); an in-place run is already live.
#      WARNING: held for review (staged collections kept) unless --accept-warning.
#      FAILED: chroma-rollback puts the target back and verifies it.
#   Finally it prints where every report is.
#
# Exit status (automation keys on it):
#   0  live on the new data (cut over, or in place and PASSED)
#   1  WARNING: held for review, nothing swapped
#   2  FAILED and rolled back: the target is as before the run (verified)
#   3  the rollback itself failed: the target needs a human (see rollback_report.md)
#   other: chroma-migrate's or chroma-validate's own exit code (docs/exit-codes.md); nothing was
#   rolled back, the run can be resumed or rolled back by hand.
#
# --inject-fault SPEC sets CHROMA_MIGRATE_FAULTS for the chroma-migrate step only (demo and tests:
# e.g. target.upsert=corrupt@3 silently corrupts one vector on the wire).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CHROMA_BIN_DIR:-$root/build/bin}"

source_uri="" target_uri="" work="" staged=0 accept_warning=0 fault=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --source) source_uri="$2"; shift 2 ;;
    --target) target_uri="$2"; shift 2 ;;
    --work-dir) work="$2"; shift 2 ;;
    --staged) staged=1; shift ;;
    --accept-warning) accept_warning=1; shift ;;
    --inject-fault) fault="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "cutover.sh: unknown argument '$1' (see the header of $0)" >&2; exit 64 ;;
  esac
done
if [[ -z "$source_uri" || -z "$target_uri" || -z "$work" ]]; then
  echo "cutover.sh: --source, --target and --work-dir are required" >&2
  exit 64
fi
unset CHROMA_MIGRATE_FAULTS  # faults reach the migrate step only, through --inject-fault

say() { printf '\ncutover.sh: %s\n' "$*"; }
reports() {
  say "reports of run in $work:"
  for f in run.json migration_summary.json validation_report.md validation_report.json \
           rollback_report.md rollback_report.json audit.jsonl; do
    [[ -e "$work/$f" ]] && printf '  %-24s %s\n' "$f" "$work/$f"
  done
  [[ -d "$work/logs" ]] && printf '  %-24s %s\n' "logs/" "$work/logs"
  return 0
}
rollback() {  # args: extra chroma-rollback flags
  say "rolling back: chroma-rollback --work-dir $work $*"
  "$bin/chroma-rollback" --work-dir "$work" --target "$target_uri" "$@"
  local rc=$?
  reports
  if [[ $rc -eq 0 ]]; then
    say "ROLLED BACK: the target is as it was before the run (verified); see $work/rollback_report.md"
    exit 2
  fi
  say "ROLLBACK FAILED (exit $rc): the target needs a human; see $work/rollback_report.md"
  exit 3
}

migrate=("$bin/chroma-migrate" --source "$source_uri" --target "$target_uri" --work-dir "$work")
[[ $staged -eq 1 ]] && migrate+=(--stage)
[[ -f "$work/checkpoint.json" ]] && migrate+=(--resume)
say "step 1/3: ${migrate[*]} ${extra[*]}"
if [[ -n "$fault" ]]; then
  say "injecting fault into the migrate step: $fault"
  CHROMA_MIGRATE_FAULTS="$fault" "${migrate[@]}" "${extra[@]}"
else
  "${migrate[@]}" "${extra[@]}"
fi
rc=$?
if [[ $rc -ne 0 ]]; then
  if [[ ($rc -eq 6 || $rc -eq 7 || $rc -eq 10) && -e "$work/audit.jsonl" ]]; then
    rollback --force --reason "chroma-migrate exited $rc after writing to the target"
  fi
  reports
  say "chroma-migrate exited $rc; nothing was rolled back. Resume with the same command, or roll back with: $bin/chroma-rollback --work-dir $work --force --reason '...'"
  exit $rc
fi

say "step 2/3: chroma-validate --work-dir $work"
"$bin/chroma-validate" --work-dir "$work" --target "$target_uri"
verdict=$?
case $verdict in
  0) say "validation PASSED" ;;
  1)
    if [[ $accept_warning -eq 0 ]]; then
      reports
      say "validation WARNING: held for review, nothing swapped. Read $work/validation_report.md, then re-run with --accept-warning or roll back"
      exit 1
    fi
    say "validation WARNING accepted (--accept-warning)" ;;
  2) say "validation FAILED"; rollback ;;
  *)
    reports
    say "chroma-validate could not run (exit $verdict); nothing was swapped or rolled back"
    exit $verdict ;;
esac

if [[ $staged -eq 1 ]]; then
  say "step 3/3: chroma-migrate --cutover --work-dir $work"
  cutover=("$bin/chroma-migrate" --cutover --work-dir "$work" --target "$target_uri")
  [[ $accept_warning -eq 1 ]] && cutover+=(--accept-warning)
  "${cutover[@]}"
  rc=$?
  if [[ $rc -ne 0 ]]; then
    reports
    say "the cutover failed (exit $rc); re-run the same command to complete it, or chroma-rollback --work-dir $work --force --reason '...' to undo it"
    exit $rc
  fi
  reports
  say "CUT OVER: the live names serve the migrated data; drop the retained old collections later with: $bin/chroma-migrate --finalize --work-dir $work"
else
  reports
  say "DONE: migrated in place and validated PASSED"
fi
exit 0
