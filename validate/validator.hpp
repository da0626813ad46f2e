// chroma-validate's driver: reads a migration's work directory, opens the target read-only, runs
// every check of all_checks() in order (the record-level ones fed by one shared pass over the
// target, validate/record_pass.hpp), times them, turns a check's Error into status ERROR, computes
// the verdict (validate/verdict.hpp) and writes validation_report.json/.md atomically.
//
// An Error from run_validation means validation could not run at all (no usable work dir, no
// reachable target, a bad thresholds file): no verdict, no report. Anything that goes wrong inside
// a check is part of the verdict instead.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/run/store_factory.hpp"
#include "validate/check.hpp"

namespace cm::validate {

struct ValidateRequest {
  std::filesystem::path work_dir;
  std::string target_uri;  // empty: run.json's target, unless it is redacted
  std::string source_uri;  // empty: no live source (the export snapshot is the reference)
  StoreTokens tokens;      // environment; resolved for the target and --source
  std::string fault_spec;  // CHROMA_MIGRATE_FAULTS, for tests
  std::filesystem::path report_path;  // a .json path; empty: <work dir>/validation_report.json
  std::filesystem::path thresholds_file;
  ValidateOptions options;
  bool verbose = false, quiet = false;
  // Tests that cannot judge anything in this mode: reported NOT_APPLICABLE with `mode` as the
  // reason, not run (a contract-only validation: count_verification, semantic search,
  // distribution and duplicates need a source).
  std::vector<std::string> not_applicable;
  std::string mode;  // shown in the report: empty for a run, else e.g. "contract-only: ..."
};

struct ValidationOutcome {
  nlohmann::json report;
  CheckStatus overall = CheckStatus::kPassed;
  std::filesystem::path json_path, markdown_path;
  std::string summary;  // the console block
};

Result<ValidationOutcome> run_validation(const ValidateRequest& request);

}  // namespace cm::validate
