#!/usr/bin/env bash
# The operator flow, unattended: migrate, validate, then either cut over or roll back.
#
#   scripts/cutover.sh --source URI --target URI --work-dir DIR [--staged] [--accept-warning]
#                      [--inject-fault SPEC] [--sync-threshold N] [--sync-rounds N]
#                      [-- extra chroma-migrate flags...]
#
#   1. chroma-migrate (with --stage when --staged; --resume when DIR already holds the run).
#      A migrate failure that leaves the target suspect (exit 6 verify failed, 7 corruption,
#      10 contract violation after writes; and for an in-place run 5, a server refusal, once the
#      target took writes) is rolled back (--force); any other failure stops here with the run
#      intact, to be resumed (after 4, 8 or 130 of an in-place run that wrote, it says that the
#      live collections are partly written).
#      Then catch-up syncs (chroma-migrate --sync) until one applies at most --sync-threshold
#      changes (default 1000; at most --sync-rounds rounds, default 5): a live source's writes
#      during the migration reach the target before it is validated.
#   2. chroma-validate.
#   3. PASSED: a staged run is swapped in (chroma-migrate --cutover, whose final sync carries the
#      last writes over and must converge: stop the source's writers first); an in-place run is
#      already live.
#      WARNING: held for review (staged collections kept) unless --accept-warning.
#      FAILED: chroma-rollback puts the target back and verifies it.
#   Finally it prints where every report is (the HTML pages too: validation_report.html is the one
#   to show the data owner).
#
# Exit status (automation keys on it; docs/exit-codes.md, "scripts/cutover.sh"). The script's own
# codes only: a step's exit code is never passed through (chroma-migrate's 2 or 3 would read as
# "rolled back" or "rollback failed"); it is printed and written to the status file instead.
#   0    live on the new data (cut over, or in place and PASSED)
#   1    WARNING: held for review, nothing swapped
#   2    FAILED and rolled back: the target is as before the run (verified); also a migrate failure
#        after writing (6, 7, 10; 5 in place) that was rolled back
#   3    the rollback itself failed (or was interrupted): the target needs a human
#        (see rollback_report.md)
#   12   a step (migrate, validate or cutover) failed; nothing was rolled back, the run can be
#        resumed (run this again) or rolled back by hand
#   64   this script's own usage is wrong (unknown argument, a required one missing); nothing ran
#   130  a step was interrupted (SIGINT/SIGTERM); nothing was rolled back, run this again to resume
#
# Every outcome is also written atomically (temp file, then mv) to DIR/cutover_status.json:
#   {"outcome": "step-failed", "exit_code": 12, "step": "migrate", "step_exit_code": 2,
#    "work_dir": "DIR", "message": "...", "finished_at": "..."}
# outcome is the name of the exit code (docs/exit-codes.md); step is the last step that ran
# (migrate | sync | validate | cutover | rollback; null for a usage error) and step_exit_code its own
# exit code (docs/exit-codes.md, that tool's table). For a usage error the file is written only
# when DIR already exists.
#
# --inject-fault SPEC sets CHROMA_MIGRATE_FAULTS for the chroma-migrate step only (demo and tests:
# e.g. target.upsert=corrupt@3 silently corrupts one vector on the wire).
set -uo pipefail

# The exit codes, one per line as `readonly EXIT_<NAME>=<code>`: common/cli/exit_codes.hpp
# (kCutoverExit*) and docs/exit-codes.md say the same, tests/unit/exit_codes_test.cpp checks it.
# Every exit below goes through finish() with one of them.
readonly EXIT_LIVE=0
readonly EXIT_HELD_FOR_REVIEW=1
readonly EXIT_ROLLED_BACK=2
readonly EXIT_ROLLBACK_FAILED=3
readonly EXIT_STEP_FAILED=12
readonly EXIT_USAGE=64
readonly EXIT_INTERRUPTED=130
readonly STATUS_FILE=cutover_status.json

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CHROMA_BIN_DIR:-$root/build/bin}"

source_uri="" target_uri="" work="" staged=0 accept_warning=0 fault=""
sync_threshold=1000 sync_rounds=5
step=""  # the step running or last run: migrate | sync | validate | cutover | rollback
extra=()

say() { printf '\ncutover.sh: %s\n' "$*"; }

json_str() {  # $1 as a JSON string literal
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=$(LC_ALL=C; printf '%s' "$s" | tr -d '\000-\037')
  printf '"%s"' "$s"
}
json_or_null() { if [[ -n "$1" ]]; then "${@:2}" "$1"; else printf 'null'; fi; }
json_int() { printf '%d' "$1"; }

# Writes DIR/cutover_status.json atomically: a temp file beside it, flushed, then renamed over it.
write_status() {  # args: exit code, outcome, step or "", step's exit code or "", message
  local dir=$work
  [[ -n "$dir" ]] || return 0
  if [[ ! -d "$dir" ]]; then
    [[ $1 -eq $EXIT_USAGE ]] && return 0  # a usage error does not create the work dir
    mkdir -p -- "$dir" || { echo "cutover.sh: cannot create $dir for $STATUS_FILE" >&2; return 0; }
  fi
  local tmp="$dir/.$STATUS_FILE.tmp.$$"
  if {
    printf '{\n'
    printf '  "outcome": %s,\n' "$(json_str "$2")"
    printf '  "exit_code": %d,\n' "$1"
    printf '  "step": %s,\n' "$(json_or_null "$3" json_str)"
    printf '  "step_exit_code": %s,\n' "$(json_or_null "$4" json_int)"
    printf '  "work_dir": %s,\n' "$(json_str "$dir")"
    printf '  "message": %s,\n' "$(json_str "$5")"
    printf '  "finished_at": %s\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '}\n'
  } >"$tmp"; then
    sync -- "$tmp" 2>/dev/null
    mv -f -- "$tmp" "$dir/$STATUS_FILE" && return 0
  fi
  rm -f -- "$tmp"
  echo "cutover.sh: could not write $dir/$STATUS_FILE" >&2
}

# The only way out: prints the outcome, records it in the status file, exits with the script's code.
finish() {  # args: exit code, outcome, step or "", step's exit code or "", message
  trap - INT TERM
  if [[ $1 -eq $EXIT_USAGE ]]; then
    echo "cutover.sh: $5 (see the header of $0)" >&2
  else
    say "$5"
  fi
  write_status "$@"
  if [[ $1 -ne $EXIT_USAGE ]]; then
    say "exit $1 ($2)${3:+; step $3 exited $4}; status in $work/$STATUS_FILE"
  fi
  exit "$1"
}

usage() { finish "$EXIT_USAGE" usage "" "" "$1"; }

reports() {
  say "reports of run in $work:"
  for f in run.json migration_summary.json migration_summary.html validation_report.md \
           validation_report.json validation_report.html rollback_report.md rollback_report.json \
           rollback_report.html audit.jsonl "$STATUS_FILE"; do
    [[ -e "$work/$f" || "$f" == "$STATUS_FILE" ]] && printf '  %-24s %s\n' "$f" "$work/$f"
  done
  [[ -d "$work/logs" ]] && printf '  %-24s %s\n' "logs/" "$work/logs"
  return 0
}
# SIGINT/SIGTERM while a step runs: the step stops at a safe point (its own exit 130 or the signal);
# an interrupted rollback leaves the target half restored, which needs a human like a failed one.
interrupted() {
  local rc=$?
  [[ $rc -eq 0 ]] && rc=$EXIT_INTERRUPTED
  reports
  if [[ "$step" == rollback ]]; then
    finish "$EXIT_ROLLBACK_FAILED" rollback-failed rollback "$rc" \
      "ROLLBACK INTERRUPTED: the target is partly restored and needs a human; chroma-rollback --work-dir $work continues it (see $work/rollback.json)"
  fi
  finish "$EXIT_INTERRUPTED" interrupted "$step" "$rc" \
    "interrupted during step ${step:-(none)}; nothing was rolled back. Run the same command again to resume"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source|--target|--work-dir|--inject-fault|--sync-threshold|--sync-rounds)
      [[ $# -ge 2 ]] || usage "$1 needs a value"
      case "$1" in
        --source) source_uri="$2" ;;
        --target) target_uri="$2" ;;
        --work-dir) work="$2" ;;
        --inject-fault) fault="$2" ;;
        --sync-threshold) sync_threshold="$2" ;;
        --sync-rounds) sync_rounds="$2" ;;
      esac
      [[ ("$1" != --sync-threshold && "$1" != --sync-rounds) || "$2" =~ ^[0-9]+$ ]] ||
        usage "$1 needs a whole number, not '$2'"
      shift 2 ;;
    --staged) staged=1; shift ;;
    --accept-warning) accept_warning=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) usage "unknown argument '$1'" ;;
  esac
done
if [[ -z "$source_uri" || -z "$target_uri" || -z "$work" ]]; then
  usage "--source, --target and --work-dir are required"
fi
unset CHROMA_MIGRATE_FAULTS  # faults reach the migrate step only, through --inject-fault
trap interrupted INT TERM

rollback() {  # args: why (for the status file), extra chroma-rollback flags
  local why=$1
  shift
  step=rollback
  say "rolling back: chroma-rollback --work-dir $work $*"
  "$bin/chroma-rollback" --work-dir "$work" --target "$target_uri" "$@"
  local rc=$?
  reports
  if [[ $rc -eq 0 ]]; then
    finish "$EXIT_ROLLED_BACK" rolled-back rollback 0 \
      "ROLLED BACK ($why): the target is as it was before the run (verified); see $work/rollback_report.md"
  fi
  finish "$EXIT_ROLLBACK_FAILED" rollback-failed rollback "$rc" \
    "ROLLBACK FAILED (chroma-rollback exited $rc; $why): the target needs a human; see $work/rollback_report.md"
}
step_failed() {  # args: step, its exit code, what to do
  reports
  if [[ $2 -eq $EXIT_INTERRUPTED ]]; then
    finish "$EXIT_INTERRUPTED" interrupted "$1" "$2" \
      "${partly:-}step $1 was interrupted (exit $2); nothing was rolled back. Run the same command again to resume"
  fi
  finish "$EXIT_STEP_FAILED" step-failed "$1" "$2" "$3"
}

step=migrate
partly=""  # set when an in-place migrate step stopped after writing (said in the final message)
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
# Whether the target acknowledged a write of this run (audit.jsonl: one line per mutating call,
# keys sorted, so "action" precedes "outcome").
target_written() {
  [[ -e "$work/audit.jsonl" ]] &&
    grep -Eq '"action":"(upsert|delete_records|remove_metadata_keys|delete_collection|create_collection|rename_collection|update_collection_metadata)".*"outcome":"ok"' \
      "$work/audit.jsonl"
}
if [[ $rc -ne 0 ]]; then
  if [[ ($rc -eq 6 || $rc -eq 7 || $rc -eq 10) && -e "$work/audit.jsonl" ]]; then
    rollback "chroma-migrate exited $rc after writing to the target" \
      --force --reason "chroma-migrate exited $rc after writing to the target"
  fi
  # A refusal (5) of an in-place run that already wrote leaves live collections partly migrated;
  # resuming would hit the same refusal, so it is rolled back like 6, 7 and 10. (A staged run
  # wrote only its staging collections: the live names still serve the old data.)
  if [[ $rc -eq 5 && $staged -eq 0 ]] && target_written; then
    rollback "chroma-migrate exited $rc (a server refused a request) after writing to the target" \
      --force --reason "chroma-migrate exited $rc (server refusal) after writing to the target"
  fi
  partly=""
  if [[ $staged -eq 0 && ($rc -eq 4 || $rc -eq 8 || $rc -eq 130) ]] && target_written; then
    partly="LIVE COLLECTIONS ARE PARTLY WRITTEN: this in-place run stopped after writing to the target, so the live collections hold a mix of old and migrated records until it is resumed or rolled back. "
  fi
  step_failed migrate "$rc" \
    "${partly}step migrate failed: chroma-migrate exited $rc (docs/exit-codes.md); nothing was rolled back. Resume with the same command, or roll back with: $bin/chroma-rollback --work-dir $work --force --reason '...'"
fi

# Catch-up: a live source kept taking writes while it was migrated. Sync until one sync applies
# at most --sync-threshold changes (the cutover's final sync then has little left to do).
step=sync
sync=("$bin/chroma-migrate" --sync --work-dir "$work" --source "$source_uri" --target "$target_uri")
dry_run=0
for flag in "${extra[@]}"; do [[ "$flag" == --dry-run ]] && dry_run=1; done
for ((round = 1; dry_run == 0; round++)); do  # a dry run wrote nothing to catch up
  say "catch-up sync $round: ${sync[*]}"
  sync_out="$("${sync[@]}" 2>&1)"
  rc=$?
  printf '%s\n' "$sync_out"
  if [[ $rc -ne 0 ]]; then
    step_failed sync "$rc" \
      "step sync failed: chroma-migrate --sync exited $rc; nothing was rolled back. Run the same command again to resume"
  fi
  changes="$(sed -n 's/.* \([0-9][0-9]*\) change(s) applied.*/\1/p' <<<"$sync_out" | tail -1)"
  [[ -n "$changes" && $changes -le $sync_threshold ]] && break
  if [[ $round -ge $sync_rounds ]]; then
    step_failed sync 0 \
      "the source keeps changing: $sync_rounds catch-up syncs each applied more than $sync_threshold changes (last: ${changes:-?}). Slow or stop its writers, then run the same command again"
  fi
done

step=validate
say "step 2/3: chroma-validate --work-dir $work"
"$bin/chroma-validate" --work-dir "$work" --target "$target_uri"
verdict=$?
case $verdict in
  0) say "validation PASSED" ;;
  1)
    if [[ $accept_warning -eq 0 ]]; then
      reports
      finish "$EXIT_HELD_FOR_REVIEW" held-for-review validate "$verdict" \
        "validation WARNING: held for review, nothing swapped. Read $work/validation_report.md, then re-run with --accept-warning or roll back"
    fi
    say "validation WARNING accepted (--accept-warning)" ;;
  2) say "validation FAILED"; rollback "validation FAILED" ;;
  *)
    step_failed validate "$verdict" \
      "step validate failed: chroma-validate could not run (exit $verdict); nothing was swapped or rolled back. Fix what it names, then run the same command again" ;;
esac

if [[ $staged -eq 1 ]]; then
  step=cutover
  say "step 3/3: chroma-migrate --cutover --work-dir $work"
  cutover=("$bin/chroma-migrate" --cutover --work-dir "$work" --source "$source_uri"
           --target "$target_uri" --max-final-sync "$sync_threshold")
  [[ $accept_warning -eq 1 ]] && cutover+=(--accept-warning)
  "${cutover[@]}"
  rc=$?
  if [[ $rc -ne 0 ]]; then
    step_failed cutover "$rc" \
      "step cutover failed: chroma-migrate --cutover exited $rc; re-run the same command to complete it, or chroma-rollback --work-dir $work --force --reason '...' to undo it"
  fi
  reports
  finish "$EXIT_LIVE" live cutover 0 \
    "CUT OVER: the live names serve the migrated data; drop the retained old collections later with: $bin/chroma-migrate --finalize --work-dir $work"
fi
reports
validated=PASSED
[[ $verdict -eq 1 ]] && validated="WARNING (accepted)"
finish "$EXIT_LIVE" live validate "$verdict" "DONE: migrated in place and validated $validated"
