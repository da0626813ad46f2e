// What the binaries' main.cpp share besides the exit-code table: the one place an error is logged
// and becomes an exit code (fail), the environment variables they read (cli_environment), and the
// try/catch around main that turns an escaped exception into the internal exit code (run_cli).
#pragma once

#include <optional>
#include <string>

#include "common/base/error.hpp"
#include "common/cli/exit_codes.hpp"
#include "common/run/store_factory.hpp"

namespace cm {

// Logs the error's message, then "exit N (error name)", and returns exit_code_for(error).
int fail(const Error& error);

// The environment the binaries read, once, after the flags are parsed.
struct CliEnvironment {
  // CHROMA_TOKEN (shared), CHROMA_SOURCE_TOKEN, CHROMA_TARGET_TOKEN; unset or "" -> no token.
  // Raw: resolve_store_tokens() (common/run/store_factory.hpp) decides which store gets which.
  StoreTokens tokens;
  std::string fault_spec;                   // CHROMA_MIGRATE_FAULTS (tests, demo); unset -> ""
  std::optional<std::string> confirmation;  // MIGRATION_CONFIRM; set even when "" (the interlock
                                            // tells "not set" from "not the expected value")
  std::string target_env;                   // MIGRATION_TARGET; a --target-env flag wins
  std::string targets_file;                 // MIGRATION_TARGETS_FILE; a --targets-file flag wins
};
CliEnvironment cli_environment();

// main() of every binary: sets the umask to 077 (every file and directory the run creates, in the
// work dir or elsewhere, is the owner's only: snapshots hold production data), then returns
// run(argc, argv); an exception that escapes it is printed as
// "<program>: internal error: <what>" on stderr and exits with internal_code (kExitInternal;
// chroma-validate passes its could-not-run verdict, kValidateExitCouldNotRun).
int run_cli(const char* program, int (*run)(int, char**), int argc, char** argv,
            int internal_code = kExitInternal);

}  // namespace cm
