// chroma-validate: the command-line edge. Flags -> ValidateRequest -> run_validation(); the verdict
// becomes the exit code here and only here (docs/exit-codes.md, table "chroma-validate"):
// 0 PASSED, 1 WARNING, 2 FAILED (the report is written for all three), 3 could not run.
#include <malloc.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/base/logging.hpp"
#include "common/cli/cli_edge.hpp"
#include "common/run/shard_merge.hpp"
#include "common/run/shard_set.hpp"
#include "common/run/work_dir.hpp"
#include "validate/standalone.hpp"
#include "validate/validator.hpp"
#include "validate/verdict.hpp"

namespace {

bool has_run(const std::string& work_dir) {
  return !work_dir.empty() && std::filesystem::exists(cm::WorkDir(work_dir).run_manifest());
}

cm::Result<cm::validate::StandaloneWorkDir> standalone_reference(
    const std::string& work_dir, const std::string& source, const std::string& target,
    const std::string& mapping, const std::string& contract, bool verbose) {
  if (source.empty() || target.empty()) {
    return cm::make_error(
        cm::ErrorCode::kInvalidArgument,
        (work_dir.empty() ? std::string("no --work-dir")
                          : work_dir + " holds no chroma-migrate run (no run.json)") +
            ": give the work dir of a run, --source and --target to validate any two "
            "databases (standalone), or --target and --contract to check a database against "
            "its contract");
  }
  return cm::validate::build_reference({.source_uri = source,
                                        .mapping = mapping,
                                        .contract = contract,
                                        .work_dir = work_dir,
                                        .verbose = verbose});
}

int run(int argc, char** argv) {
  CLI::App app{
      "chroma-validate: prove that a migration landed what it should have: eight tests comparing "
      "the target with the run's work directory (or, standalone, with --source), a "
      "PASSED/WARNING/FAILED verdict that drives rollback, and validation_report.json/.md.\n"
      "Exit codes: 0 PASSED, 1 WARNING, 2 FAILED, 3 could not run (docs/exit-codes.md)",
      "chroma-validate"};
  cm::validate::ValidateRequest r;
  std::string work_dir, report, markdown, thresholds, queries, mapping, contract;
  std::vector<std::string> work_dirs;
  app.add_option("--work-dir", work_dirs,
                 "the migration's work directory (run.json, snapshots/); with --source and "
                 "--target and no run in it: where the standalone validation keeps its "
                 "reference. A sharded run: once per shard (one verdict over all of them, "
                 "written to the first unless --report says otherwise)");
  app.add_option("--target,--new-db-url", r.target_uri,
                 "target store URI (default: run.json's, unless redacted)");
  app.add_option("--source,--old-db-url", r.source_uri,
                 "source store URI: with a run, the live source for drift and server-to-server "
                 "search; without one, what the target is validated against (standalone)");
  app.add_option("--mapping", mapping,
                 "standalone: the mapping the target was migrated with (default: identity)");
  app.add_option("--contract", contract, "standalone: the contract the target must meet");
  app.add_option("--queries,--test-queries", queries,
                 "query file for the semantic-search test (queries/README.md)");
  auto* report_opt = app.add_option(
      "--report", report, "where to write the JSON report (.json; the .md goes beside it)");
  app.add_option("--output", markdown,
                 "where to write the Markdown report (.md; the .json goes beside it)")
      ->excludes(report_opt);
  app.add_option("--top-k", r.options.top_k, "k of the semantic-search test")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--sample", r.options.sample, "records whose own embeddings become extra queries")
      ->capture_default_str();
  app.add_option("--thresholds", thresholds,
                 "JSON file overriding thresholds (validate/README.md)");
  app.add_option("--seed", r.options.seed, "seed for drawing the sampled queries")
      ->capture_default_str();
  app.add_flag("-v,--verbose", r.verbose, "debug output on the console");
  app.add_flag("-q,--quiet", r.quiet, "warnings and errors only on the console");
  app.set_version_flag("--version", std::string("chroma-validate ") + CHROMA_MIGRATE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : cm::kValidateExitCouldNotRun;
  }
  cm::init_console_logging("chroma-validate");
  if (!work_dirs.empty()) work_dir = work_dirs.front();
  if (work_dirs.size() > 1 || cm::holds_shard(work_dir)) {
    // The shards of one run: validated as one run, on the union of their snapshots (a shard's
    // work dir alone is refused there, unless it is the only shard).
    std::vector<std::filesystem::path> dirs(work_dirs.begin(), work_dirs.end());
    auto merged = cm::merge_shard_work_dirs(dirs);
    if (!merged) {
      spdlog::error("validation could not run: {}", merged.error().message);
      spdlog::error("exit {} (could not run; no report written)", cm::kValidateExitCouldNotRun);
      return cm::kValidateExitCouldNotRun;
    }
    if (report.empty()) report = cm::WorkDir(work_dir).validation_report().string();
    work_dir = merged->string();
  }
  if (!markdown.empty()) {
    if (std::filesystem::path(markdown).extension() != ".md") {
      spdlog::error("--output must name a .md file (the .json is written beside it), not {}",
                    markdown);
      return cm::kValidateExitCouldNotRun;
    }
    report = std::filesystem::path(markdown).replace_extension(".json").string();
  }
  // Without a run to read, the reference is built from --source first (validate/standalone.hpp).
  std::optional<cm::validate::StandaloneWorkDir> standalone;
  if (!has_run(work_dir)) {
    // --target and --contract alone: what the contract can judge, with the target itself as the
    // reference; the tests that need a source are NOT_APPLICABLE (validate/README.md).
    const bool contract_only = r.source_uri.empty() && !r.target_uri.empty() && !contract.empty();
    if (contract_only && !mapping.empty()) {
      spdlog::error(
          "--mapping needs --source: a contract-only validation (--target and "
          "--contract) has no source to map");
      return cm::kValidateExitCouldNotRun;
    }
    if (contract_only) {
      r.not_applicable = {"count_verification", "semantic_search_equivalence",
                          "collection_distribution", "duplicate_detection"};
      r.mode = "contract-only: the target is judged against the contract alone, no source";
    }
    auto built = standalone_reference(work_dir, contract_only ? r.target_uri : r.source_uri,
                                      r.target_uri, mapping, contract, r.verbose);
    if (!built) {
      spdlog::error("validation could not run: {}", built.error().message);
      spdlog::error("exit {} (could not run; no report written)", cm::kValidateExitCouldNotRun);
      return cm::kValidateExitCouldNotRun;
    }
    standalone.emplace(std::move(*built));
    work_dir = standalone->path().string();
    // A temporary work dir goes away: its reports would too.
    if (report.empty() && standalone->temporary()) report = "validation_report.json";
  } else if (!mapping.empty() || !contract.empty()) {
    spdlog::error(
        "--mapping and --contract are for a standalone validation: {} holds a run, "
        "which is validated with its own mapping and contract",
        work_dir);
    return cm::kValidateExitCouldNotRun;
  }
  r.work_dir = work_dir;
  r.report_path = report;
  r.thresholds_file = thresholds;
  r.options.queries_file = queries;
  const cm::CliEnvironment env = cm::cli_environment();
  r.tokens = env.tokens;
  r.fault_spec = env.fault_spec;

  auto outcome = cm::validate::run_validation(r);
  if (!outcome) {
    spdlog::error("validation could not run: {}", outcome.error().message);
    spdlog::error("exit {} (could not run; no report written)", cm::kValidateExitCouldNotRun);
    return cm::kValidateExitCouldNotRun;
  }
  std::cout << outcome->summary << std::flush;
  return cm::validate::exit_code_for_status(outcome->overall);
}

}  // namespace

int main(int argc, char** argv) {
  // Target batches are fetched on helper threads and freed on the main thread; glibc's per-thread
  // arenas would keep each thread's freed batches as separate slack (measured: +50% peak RSS on
  // 20,000 x 384). One arena keeps the peak to what is live; the helper threads mostly wait on
  // HTTP, so the lock is not contended.
  mallopt(M_ARENA_MAX, 1);
  // A verdict, not an error: an escaped exception means it could not run (3), not internal (70).
  return cm::run_cli("chroma-validate", run, argc, argv, cm::kValidateExitCouldNotRun);
}
