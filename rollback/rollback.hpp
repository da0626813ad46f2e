// chroma-rollback's driver: undo a migration run from its work directory.
//
// Order (each step before the next, so a refusal at any point has changed nothing after it):
//   1. run.json (and rollback.json if an earlier invocation started), "already rolled back"?
//   2. the trigger: the validation report's rollback_triggered, or --force --reason
//   3. interlocks (a "working" target needs MIGRATION_CONFIRM), then the target is opened with the
//      work dir's audit log (every mutation lands in audit.jsonl)
//   4. the backup is verified FIRST whenever one is recorded or needed: kCorruption before any
//      rename or delete
//   5. the plan (rollback/plan.hpp) is written to rollback.json, or --dry-run prints it and stops
//   6. undo renames, archive + drop, restore (rollback/execute.hpp), each journalled
//   7. verification (rollback/verify.hpp), reports, then run.json rolled_back_at (only when
//      verified, so chroma-migrate refuses to --resume/--cutover the run from then on)
#pragma once

#include <string>

#include "common/base/error.hpp"
#include "rollback/rollback_options.hpp"

namespace cm::rollback {

struct Outcome {
  enum class Kind { kNothingToDo, kAlreadyRolledBack, kDryRun, kRolledBack, kVerifyFailed };
  Kind kind = Kind::kNothingToDo;
  std::string run_id;
  std::string text;  // for the console: the message, the plan, or the summary
};

// kVerifyFailed is an Outcome, not an error: the reports are written; main maps it to exit 6.
Result<Outcome> run_rollback(const RollbackOptions& options);

}  // namespace cm::rollback
