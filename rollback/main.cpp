// chroma-rollback: the command-line edge. Flags -> RollbackOptions -> run_rollback(); errors and
// outcomes become exit codes here and only here (common/cli/exit_codes.hpp, docs/exit-codes.md).
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/base/cancellation.hpp"
#include "common/base/logging.hpp"
#include "common/cli/cli_edge.hpp"
#include "rollback/rollback.hpp"

namespace {

using cm::fail;

int run(int argc, char** argv) {
  CLI::App app{
      "chroma-rollback: undo a migration run from its work directory when its validation failed "
      "(or when forced): swap staged collections back, archive and drop what the run created, "
      "restore replaced collections from the verified backup, verify, report.\n"
      "Exit codes: docs/exit-codes.md",
      "chroma-rollback"};
  cm::rollback::RollbackOptions o;
  std::string work_dir, report;
  app.add_option("--work-dir", work_dir, "the run's work directory (run.json, snapshots/)")
      ->required();
  app.add_option("--report", report,
                 "the validation report to act on (default <work dir>/validation_report.json)");
  auto* force = app.add_flag("--force", o.force,
                             "roll back whatever the report says (or without one); needs --reason");
  auto* reason = app.add_option("--reason", o.reason, "why the rollback is forced (recorded)");
  force->needs(reason);
  reason->needs(force);
  app.add_flag("--dry-run", o.dry_run,
               "print the plan with record counts; change and write nothing");
  app.add_option("--target", o.target_uri,
                 "target store URI (default: run.json's, unless redacted)");
  app.add_option("--source", o.source_uri,
                 "source store URI for the 'source untouched' check (default: run.json's)");
  app.add_option("--workers", o.workers, "requests in flight for archive, restore and verification")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_flag("-v,--verbose", o.verbose, "debug output on the console");
  app.add_flag("-q,--quiet", o.quiet, "warnings and errors only on the console");
  app.set_version_flag("--version", std::string("chroma-rollback ") + CHROMA_MIGRATE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? cm::kExitOk : cm::kExitUsage;
  }
  cm::init_console_logging("chroma-rollback");
  if (o.force && o.reason.find_first_not_of(" \t") == std::string::npos) {
    return fail({cm::ErrorCode::kInvalidArgument,
                 "--force needs a non-empty --reason: it is recorded in the rollback report"});
  }
  o.work_dir = work_dir;
  o.report = report;
  const cm::CliEnvironment env = cm::cli_environment();
  o.tokens = env.tokens;
  o.confirmation = env.confirmation;
  o.fault_spec = env.fault_spec;

  cm::install_stop_signal_handlers();
  auto outcome = cm::rollback::run_rollback(o);
  if (!outcome) return fail(outcome.error());
  std::cout << outcome->text << std::flush;
  using Kind = cm::rollback::Outcome::Kind;
  if (outcome->kind == Kind::kVerifyFailed) {
    return fail({cm::ErrorCode::kVerifyFailed,
                 "the rollback of run " + outcome->run_id +
                     " did not verify (see the problems above and the report); run.json is not "
                     "marked rolled back. Fix what is listed, then run chroma-rollback again"});
  }
  return cm::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return cm::run_cli("chroma-rollback", run, argc, argv);
}
