// The one place where errors become process exit codes. docs/exit-codes.md documents the table;
// tests/unit/exit_codes_test.cpp keeps the two in step.
#pragma once

#include "common/base/error.hpp"

namespace cm {

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

}  // namespace cm
