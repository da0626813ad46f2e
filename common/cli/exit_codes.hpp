// Every exit code of the suite, in one place: the binaries' shared table (errors become these
// through exit_code_for), chroma-validate's verdicts, and scripts/cutover.sh's outcomes.
// docs/exit-codes.md documents the three tables; tests/unit/exit_codes_test.cpp keeps the doc, this
// header and the script's own definitions (the EXIT_* variables at its top) in step.
#pragma once

#include "common/base/error.hpp"

namespace cm {

// chroma-migrate, chroma-rollback, chroma-seed (docs/exit-codes.md, first table).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,  // bad flags, URIs or input files; nothing was written
  kExitConfigMismatch =
      3,  // --resume with a different configuration, or a work dir in the wrong state
  kExitUnavailable = 4,   // a server stayed unreachable / kept failing after all retries
  kExitRejected = 5,      // a server refused a request (4xx); its message is printed
  kExitVerifyFailed = 6,  // the verify phase found a difference (counts, digests)
  kExitCorruption = 7,    // a snapshot, checkpoint or manifest failed its digest or format check
  kExitIo = 8,            // a local file could not be read or written
  kExitConflict = 9,      // a target collection exists and the run may not touch it
  kExitContractViolation = 10,  // preflight/postflight found data that breaks the contract
  kExitRefused = 11,            // a safety interlock refused the run before any write
  kExitInterrupted = 130,       // SIGINT/SIGTERM: the checkpoint is intact, --resume continues
  kExitInternal = 70,           // a bug; please report it with the log file
};

int exit_code_for(const Error& error);

// chroma-validate exits with its verdict, not an error (docs/exit-codes.md, "chroma-validate").
inline constexpr int kValidateExitPassed = 0;
inline constexpr int kValidateExitWarning = 1;
inline constexpr int kValidateExitFailed = 2;       // FAILED or ERROR: roll back
inline constexpr int kValidateExitCouldNotRun = 3;  // bad input or unreachable; no report

// scripts/cutover.sh (docs/exit-codes.md, "scripts/cutover.sh"); the script defines the same
// numbers as EXIT_<NAME> variables and writes the outcome's name to <work dir>/cutover_status.json.
// It never passes a step's exit code through: that code is in the status file and the last lines.
inline constexpr int kCutoverExitLive = 0;            // cut over, or in place and PASSED
inline constexpr int kCutoverExitHeldForReview = 1;   // WARNING: nothing swapped
inline constexpr int kCutoverExitRolledBack = 2;      // FAILED, rolled back and verified
inline constexpr int kCutoverExitRollbackFailed = 3;  // the rollback itself failed: a human
inline constexpr int kCutoverExitStepFailed = 12;     // a step failed; nothing rolled back
inline constexpr int kCutoverExitUsage = 64;          // the script's own flags are wrong
inline constexpr int kCutoverExitInterrupted = 130;   // a step was interrupted; nothing rolled back

// The status file scripts/cutover.sh writes (atomically) into the work dir for every outcome.
inline constexpr const char* kCutoverStatusFile = "cutover_status.json";

}  // namespace cm
