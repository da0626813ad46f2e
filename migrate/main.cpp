// chroma-migrate: the command-line edge. Flags -> MigrateOptions -> run_migration(); errors become
// exit codes here and only here (common/cli/exit_codes.hpp, docs/exit-codes.md).
#include <iostream>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/base/cancellation.hpp"
#include "common/base/logging.hpp"
#include "common/cli/cli_edge.hpp"
#include "common/report/html_page.hpp"
#include "migrate/cli_reports.hpp"
#include "migrate/cli_shards.hpp"
#include "migrate/cli_work_dir.hpp"
#include "migrate/cutover.hpp"
#include "migrate/inspect.hpp"
#include "migrate/lost_vectors.hpp"
#include "migrate/migration.hpp"
#include "migrate/sync.hpp"

namespace {

using cm::fail;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  CLI::App app{
      "chroma-migrate: copy every chunk of a source Chroma into a target Chroma, through a "
      "verified snapshot, with checkpoints so --resume finishes an interrupted run.\n"
      "Exit codes: docs/exit-codes.md",
      "chroma-migrate"};
  std::string source, target, collections, work_dir, checkpoint_file;
  cm::migrate::MigrateOptions o;
  int max_attempts = o.retry.max_attempts;
  long retry_base_ms = o.retry.base_delay.count();
  app.add_option("--source,--source-url", source,
                 "source store: http(s)://host:port[?tenant=T&database=D], snapshot:DIR or "
                 "persist:DIR[?tenant=T&database=D] (a Chroma persist directory, read offline)");
  app.add_option("--target,--target-url", target,
                 "target store, same forms as --source (--cutover/--finalize: default run.json's)");
  std::vector<std::string> work_dirs;
  app.add_option(
      "--work-dir", work_dirs,
      "run directory: manifest, snapshot, checkpoint, logs (new run: ./chroma-migrate-<UTC time>"
      ", printed); needed by --resume, --sync, --cutover, --finalize (the last two: per shard)");
  app.add_option("--checkpoint-file,--resume-from", checkpoint_file,
                 "resume the run this checkpoint.json belongs to (its work dir)");
  app.add_option("--collections", collections, "comma-separated source collections (default: all)");
  app.add_option("--batch-size", o.batch_size, "records per batch (lowered to the servers' max)")
      ->capture_default_str();
  app.add_option("--workers", o.workers, "requests in flight")->capture_default_str();
  app.add_option("--source-rate", o.source_rate,
                 "at most this many source records read per second, for a production source "
                 "that keeps serving (0: no limit; a resume may change it)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--resume", o.resume, "continue the interrupted run in --work-dir");
  app.add_option("--run-id", o.run_id, "name of the run (default: UTC time + random suffix)");
  app.add_option("--max-attempts", max_attempts, "tries per request on transient failures")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--retry-base-ms", retry_base_ms,
                 "first backoff delay; doubles per attempt, with jitter")
      ->capture_default_str()
      ->check(CLI::Range(1L, 60000L));
  std::string mapping, contract, targets_file, target_env, if_exists = "fail";
  app.add_option("--mapping", mapping,
                 "JSON mapping: routing, field rules, target settings (contracts/README.md)");
  app.add_option("--contract", contract,
                 "JSON contract checked before any write and after import (contracts/README.md)");
  app.add_flag("--allow-contract-drift", o.allow_contract_drift,
               "proceed despite contract findings (logged and recorded)");
  app.add_option("--target-env", target_env,
                 "test | working (or MIGRATION_TARGET); working needs MIGRATION_CONFIRM")
      ->check(CLI::IsMember({"test", "working"}));
  app.add_option("--targets-file", targets_file,
                 "JSON {\"working\": [URI, ...]} (or MIGRATION_TARGETS_FILE)");
  app.add_flag("--dry-run", o.dry_run,
               "export, transform and preflight, write plan.json/plan.md; never write the target");
  app.add_option("--if-exists", if_exists,
                 "for target collections that exist: fail | replace | merge (both back up first)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "replace", "merge"}));
  app.add_flag("--allow-missing-vectors", o.allow_missing_vectors,
               "persist:DIR source: migrate the records whose vector survives and list the others "
               "as unrecoverable at the source (without it such a source is refused, exit 7)");
  app.add_flag("!--no-pipeline", o.pipeline,
               "export and seal everything before the first target write (by default a run "
               "without --mapping or --contract imports each part while the export goes on)");
  app.add_flag("--stage", o.stage,
               "import into '<name>.staged-<run id>' collections; live names keep serving until "
               "--cutover");
  bool cutover = false, finalize = false, accept_warning = false;
  std::string report;
  auto* cutover_flag = app.add_flag(
      "--cutover", cutover,
      "staged run, after a PASSED validation: swap the staged collections in by renaming");
  auto* finalize_flag = app.add_flag("--finalize", finalize,
                                     "after --cutover: drop the retained pre-run collections");
  bool sync = false;
  auto* sync_flag = app.add_flag(
      "--sync", sync,
      "after the migration: find every change the source took since its snapshot (added, "
      "changed, deleted) and apply it to the run's targets (--dry-run: print it only)");
  cutover_flag->excludes(finalize_flag);
  sync_flag->excludes(cutover_flag)->excludes(finalize_flag);
  app.add_flag("--accept-warning", accept_warning, "--cutover: a WARNING verdict may swap too");
  bool no_final_sync = false;
  std::uint64_t max_final_sync = cm::migrate::kDefaultMaxFinalSync;
  app.add_flag("--no-final-sync", no_final_sync,
               "--cutover: skip the final sync (the source is gone, or known unchanged)");
  app.add_option("--max-final-sync", max_final_sync,
                 "--cutover: most changes the final sync may apply unvalidated; more refuses the "
                 "cutover (validate again)")
      ->capture_default_str();
  app.add_option("--report", report,
                 "--cutover: the validation report (default <work dir>/validation_report.json); "
                 "--inspect: where its JSON goes (default ./persist_inspect.json)");
  bool inspect = false;
  auto* inspect_flag = app.add_flag(
      "--inspect", inspect,
      "with --source persist:DIR (or a .tar/.tar.gz of one): print and write (JSON, see --report) "
      "the health of every collection of every tenant and database; no work dir; exit 7 when a "
      "record's vector cannot be recovered");
  inspect_flag->excludes(cutover_flag)->excludes(finalize_flag)->excludes(sync_flag);
  cm::migrate::ShardFlags shard_flags;
  cm::migrate::add_shard_options(app, shard_flags);
  app.add_flag("-v,--verbose", o.verbose, "debug output on the console");
  app.add_flag("-q,--quiet", o.quiet, "warnings and errors only on the console");
  app.set_version_flag("--version", std::string("chroma-migrate ") + CHROMA_MIGRATE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? cm::kExitOk : cm::kExitUsage;
  }

  cm::init_console_logging("chroma-migrate");
  if (inspect) return cm::migrate::report_inspect(source, report);
  // Resolved before anything else: a bad index or a missing variable writes nothing.
  auto sharding = cm::migrate::resolve_sharding(
      shard_flags, {work_dirs, sync, cutover, finalize, no_final_sync, report}, o.run_id);
  if (!sharding) return fail(sharding.error());
  o.shard = sharding->shard;
  report = sharding->dirs.report;
  auto chosen = cm::migrate::choose_work_dir(sharding->dirs.work_dir, checkpoint_file,
                                             !(sync || cutover || finalize), o.resume);
  if (!chosen) return fail(chosen.error());
  work_dir = chosen->dir.string();
  o.resume = chosen->resume;
  if (chosen->defaulted) {
    spdlog::info("work dir: {} (--work-dir chooses another; --resume needs it)", work_dir);
  }
  const cm::CliEnvironment env = cm::cli_environment();
  if (target_env.empty()) target_env = env.target_env;
  // The flags' values were checked by CLI11 (IsMember); MIGRATION_TARGET is checked here.
  auto target_kind = cm::parse_target_env(target_env);
  if (!target_kind) return fail(target_kind.error());
  o.target_env = *target_kind;
  o.if_exists = cm::enum_from_name<cm::migrate::IfExists>(if_exists).value();
  o.confirmation = env.confirmation;
  if (targets_file.empty()) targets_file = env.targets_file;
  cm::migrate::CutoverOptions c;
  c.work_dir = work_dir;
  c.target_uri = target;
  c.retry.max_attempts = max_attempts;
  c.retry.base_delay = std::chrono::milliseconds(retry_base_ms);
  c.tokens = env.tokens;
  c.fault_spec = env.fault_spec;
  c.target_env = o.target_env;
  c.confirmation = o.confirmation;
  c.targets_file = targets_file;
  c.verbose = o.verbose;
  c.quiet = o.quiet;
  cm::migrate::SyncOptions so{.run = c,
                              .source_uri = source,
                              .batch_size = 0,
                              .dry_run = o.dry_run,
                              .final = false,
                              .source_rate = o.source_rate};
  if (sync) {
    cm::install_stop_signal_handlers();
    return cm::migrate::report_sync(cm::migrate::run_sync(so));
  }
  if (cutover && !no_final_sync && cm::migrate::final_sync_applies(work_dir)) {
    // The final sync: what the source took since the last sync goes to the staged collections
    // first; its duration is the write freeze the cutover needs.
    so.final = true;
    cm::install_stop_signal_handlers();
    auto final_sync = cm::migrate::run_sync(so);
    if (int code = cm::migrate::report_sync(final_sync); code != cm::kExitOk) return code;
    spdlog::info("write-freeze window: the final sync took {:.3f}s", final_sync->seconds);
    if (!final_sync->converged) {
      return fail(
          cm::Error{cm::ErrorCode::kConfigMismatch,
                    "cutover refused: the source kept changing during the final sync. "
                    "Stop writes to the source (a write freeze), then run --cutover again"});
    }
    if (final_sync->total() > max_final_sync) {
      return fail(
          cm::Error{cm::ErrorCode::kConfigMismatch,
                    fmt::format("cutover refused: the final sync applied {} changes (more than "
                                "--max-final-sync {}) that no validation has seen. Validate again "
                                "(chroma-validate --work-dir {}), then run --cutover again",
                                final_sync->total(), max_final_sync, work_dir)});
    }
  } else if (cutover && !source.empty()) {
    return fail(cm::Error{cm::ErrorCode::kInvalidArgument,
                          "--source has no meaning with --cutover --no-final-sync"});
  }
  if (cutover || finalize) {
    if (finalize && !source.empty()) {
      return fail(cm::Error{cm::ErrorCode::kInvalidArgument,
                            "--source has no meaning with --finalize: it works on the "
                            "target recorded in the work dir's run.json"});
    }
    c.report = report;
    c.accept_warning = accept_warning;
    return cutover ? cm::migrate::report_cutover(cm::migrate::run_cutover(c), work_dir)
                   : cm::migrate::report_finalize(cm::migrate::run_finalize(c), work_dir);
  }
  for (const auto& [value, flag] :
       {std::pair{&source, "--source"}, std::pair{&target, "--target"}}) {
    if (value->empty()) {
      return fail(cm::Error{cm::ErrorCode::kInvalidArgument,
                            std::string(flag) +
                                " is required to migrate (only --cutover and --finalize work from "
                                "the work dir alone)"});
    }
  }
  auto src = cm::parse_store_uri(source);
  if (!src) return fail(std::move(src).error().with_context("--source"));
  auto dst = cm::parse_store_uri(target);
  if (!dst) return fail(std::move(dst).error().with_context("--target"));
  o.source = *src;
  o.target = *dst;
  o.work_dir = work_dir;
  o.collections = split_list(collections);
  o.retry.max_attempts = max_attempts;
  o.retry.base_delay = std::chrono::milliseconds(retry_base_ms);
  o.tokens = env.tokens;
  o.fault_spec = env.fault_spec;
  o.mapping_file = mapping;
  o.contract_file = contract;
  o.targets_file = targets_file;
  o.prepared_dir = shard_flags.prepared;

  cm::install_stop_signal_handlers();
  if (sharding->prepare_shards) {
    return cm::migrate::report_prepare(cm::migrate::run_prepare(o, *sharding->prepare_shards));
  }
  auto summary = cm::migrate::run_migration(o);
  if (!summary) return fail(summary.error());
  const auto& s = *summary;
  if (s.dry_run) {
    spdlog::info(
        "summary: run {} (dry run): {} collection(s), {} records planned, nothing sent, {:.1f}s",
        s.run_id, s.collections, s.records, s.seconds);
  } else {
    spdlog::info(
        "summary: run {}{}: {} collection(s), {} records, {} sent in {:.1f}s ({:.0f} records/s), "
        "{} retries",
        s.run_id, s.resumed ? " (resumed)" : "", s.collections, s.records, s.records_sent,
        s.seconds, s.records_per_second, s.retries);
  }
  if (!s.unrecoverable_at_source.empty()) {
    spdlog::warn(
        "unrecoverable at the source (lost before this run, not migrated{}): {}",
        s.dry_run ? "; a real run needs --allow-missing-vectors" : "",
        cm::migrate::describe_lost_vectors(s.unrecoverable_at_source, cm::WorkDir(s.work_dir)));
  }
  if (!s.dry_run && o.stage) {
    spdlog::info(
        "staged: the live collections are untouched. Next: chroma-validate --work-dir {0}, then "
        "chroma-migrate --cutover --work-dir {0} (or chroma-rollback --work-dir {0})",
        s.work_dir.string());
  }
  if (s.dry_run) {
    spdlog::info(
        "dry run complete: review {}/plan.md; run again with --resume (without --dry-run) to "
        "execute it",
        s.work_dir.string());
  }
  spdlog::info("work dir: {} (run.json, snapshots/, audit.jsonl, logs/, migration_summary.json)",
               s.work_dir.string());
  spdlog::info("html page: {}",
               s.html_page ? s.html_page->string() : "not written (see the warning above)");
  return cm::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return cm::run_cli("chroma-migrate", run, argc, argv);
}
