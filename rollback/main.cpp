// chroma-rollback: the command-line edge. Flags -> RollbackOptions -> run_rollback(); errors and
// outcomes become exit codes here and only here (common/cli/exit_codes.hpp, docs/exit-codes.md).
#include <filesystem>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/base/cancellation.hpp"
#include "common/base/logging.hpp"
#include "common/cli/cli_edge.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/shard_merge.hpp"
#include "common/run/shard_set.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "rollback/backup_restore.hpp"
#include "rollback/rollback.hpp"

namespace {

using cm::fail;

// Every shard's work dir lock, held until the rollback is done (no shard resumes meanwhile).
cm::Result<std::vector<std::unique_ptr<cm::WorkDirLock>>> lock_shards(
    const std::vector<std::filesystem::path>& shards) {
  std::vector<std::unique_ptr<cm::WorkDirLock>> locks;
  for (const auto& dir : shards) {
    if (!std::filesystem::is_directory(dir)) continue;  // reported by the merge
    CM_ASSIGN_OR_RETURN(auto lock, cm::WorkDirLock::acquire(dir, "chroma-rollback"));
    locks.push_back(std::move(lock));
  }
  return locks;
}

int run(int argc, char** argv) {
  CLI::App app{
      "chroma-rollback: undo a migration run from its work directory when its validation failed "
      "(or when forced): swap staged collections back, archive and drop what the run created, "
      "restore replaced collections from the verified backup, verify, report.\n"
      "Or restore any backup (--backup-path: a snapshot directory, a Chroma persist directory or "
      "a .tar.gz/.tgz/.tar of one) into --restore-url, archiving same-named collections first.\n"
      "Exit codes: docs/exit-codes.md",
      "chroma-rollback"};
  cm::rollback::RollbackOptions o;
  std::string work_dir, report, report_output;
  std::vector<std::string> work_dirs;
  app.add_option(
      "--work-dir", work_dirs,
      "the run's work directory (run.json, snapshots/); a sharded run: once per shard "
      "(rolled back as one run, also when a shard did not finish); with --backup-path: the "
      "restore's own (default ./chroma-rollback-<UTC timestamp>)");
  // Flags of the rollback of a run only; refused with --backup-path below.
  std::vector<std::pair<CLI::Option*, const char*>> run_only;
  run_only.emplace_back(
      app.add_option("--report", report,
                     "the validation report to act on (default <work dir>/validation_report.json)"),
      "--report");
  auto* force = app.add_flag("--force", o.force,
                             "roll back whatever the report says (or without one); needs --reason");
  auto* reason = app.add_option("--reason", o.reason, "why the rollback is forced (recorded)");
  force->needs(reason);
  reason->needs(force);
  run_only.emplace_back(force, "--force");
  run_only.emplace_back(reason, "--reason");
  run_only.emplace_back(app.add_flag("--dry-run", o.dry_run,
                                     "print the plan with record counts; change and write nothing"),
                        "--dry-run");
  run_only.emplace_back(app.add_option("--target", o.target_uri,
                                       "target store URI (default: run.json's, unless redacted)"),
                        "--target");
  run_only.emplace_back(
      app.add_option("--source", o.source_uri,
                     "source store URI for the 'source untouched' check (default: run.json's)"),
      "--source");
  // Flags of the backup restore only; refused without --backup-path below.
  auto* backup = app.add_option(
      "--backup-path", o.backup_path,
      "restore this backup instead of rolling back a run: a snapshot directory, a Chroma persist "
      "directory or a .tar.gz/.tgz/.tar of one (persist: ?tenant=T&database=D like a URI)");
  auto* restore_url = app.add_option("--restore-url", o.restore_url,
                                     "with --backup-path: the store to restore into (its URI's "
                                     "tenant and database)");
  auto* report_out = app.add_option(
      "--report-output", report_output,
      "with --backup-path: the rollback report (Markdown) also here, JSON beside it");
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
  const bool backup_mode = backup->count() > 0;
  if (!work_dirs.empty()) work_dir = work_dirs.front();
  if (work_dirs.size() > 1 && backup_mode) {
    return fail({cm::ErrorCode::kInvalidArgument,
                 "--backup-path takes one --work-dir (the restore's own)"});
  }
  if (backup_mode) {
    for (const auto& [option, name] : run_only) {
      if (option->count() == 0) continue;
      return fail({cm::ErrorCode::kInvalidArgument,
                   std::string(name) +
                       " is for the rollback of a chroma-migrate run (--work-dir of the run), not "
                       "for a backup restore (--backup-path)"});
    }
    if (restore_url->count() == 0) {
      return fail({cm::ErrorCode::kInvalidArgument,
                   "--backup-path needs --restore-url: the store to restore the backup into"});
    }
  } else {
    for (auto* option : {restore_url, report_out}) {
      if (option->count() == 0) continue;
      return fail({cm::ErrorCode::kInvalidArgument,
                   option->get_name() + " is only for a backup restore (with --backup-path)"});
    }
    if (work_dir.empty()) {
      return fail({cm::ErrorCode::kInvalidArgument,
                   "--work-dir is required: the work directory of the chroma-migrate run to roll "
                   "back (or restore a backup with --backup-path PATH --restore-url URI)"});
    }
  }
  if (o.force && o.reason.find_first_not_of(" \t") == std::string::npos) {
    return fail({cm::ErrorCode::kInvalidArgument,
                 "--force needs a non-empty --reason: it is recorded in the rollback report"});
  }
  o.work_dir = work_dir;
  o.report = report;
  const std::vector<std::filesystem::path> shards(work_dirs.begin(), work_dirs.end());
  const bool sharded = !backup_mode && (shards.size() > 1 || cm::holds_shard(work_dir));
  std::vector<std::unique_ptr<cm::WorkDirLock>> shard_locks;
  if (sharded) {
    // The shards of one run are rolled back as one run: from the work dir that merges them
    // (built by chroma-validate over the same list, or here: also with a shard that did not
    // finish), acting on the verdict in the first one. A shard still running (its lock held) is
    // refused: it would write after the rollback.
    if (!o.dry_run) {
      auto locked = lock_shards(shards);
      if (!locked) return fail(locked.error());
      shard_locks = std::move(*locked);
    }
    auto merged = cm::merged_shard_work_dir(shards, cm::ShardMerge::kForRollback);
    if (!merged) return fail(merged.error());
    if (o.report.empty()) o.report = cm::WorkDir(work_dir).validation_report();
    o.work_dir = *merged;
  }
  o.report_output = report_output;
  const cm::CliEnvironment env = cm::cli_environment();
  o.tokens = env.tokens;
  o.confirmation = env.confirmation;
  o.fault_spec = env.fault_spec;

  cm::install_stop_signal_handlers();
  if (backup_mode && o.work_dir.empty()) {
    // Logged ("work directory: ...") once the backup and the URI passed their checks.
    o.work_dir = cm::rollback::default_restore_work_dir(std::filesystem::current_path());
  }
  auto outcome = backup_mode ? cm::rollback::run_backup_restore(o) : cm::rollback::run_rollback(o);
  if (!outcome) return fail(outcome.error());
  std::cout << outcome->text << std::flush;
  using Kind = cm::rollback::Outcome::Kind;
  if (sharded &&
      (outcome->kind == Kind::kRolledBack || outcome->kind == Kind::kAlreadyRolledBack)) {
    auto merged = cm::RunManifestStore::load(cm::WorkDir(o.work_dir).run_manifest());
    if (!merged) return fail(merged.error());
    if (auto marked = cm::mark_shards_rolled_back(shards, (*merged)->get().rolled_back_at);
        !marked) {
      return fail(marked.error());
    }
    spdlog::info("marked the {} shards of run {} rolled back", shards.size(), outcome->run_id);
  }
  if (outcome->kind == Kind::kVerifyFailed) {
    return fail({cm::ErrorCode::kVerifyFailed,
                 backup_mode ? "the restore " + outcome->run_id +
                                   " did not verify (see the problems above and the report). Fix "
                                   "what is listed, then run the same command with --work-dir " +
                                   o.work_dir.string()
                             : "the rollback of run " + outcome->run_id +
                                   " did not verify (see the problems above and the report); "
                                   "run.json is not marked rolled back. Fix what is listed, then "
                                   "run chroma-rollback again"});
  }
  return cm::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return cm::run_cli("chroma-rollback", run, argc, argv);
}
