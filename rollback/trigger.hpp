// Why a rollback runs: the run's validation report said so (rollback_triggered), or the operator
// forced it with a reason. Read before anything connects, so a refusal writes nothing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/run/run_manifest.hpp"
#include "rollback/rollback_options.hpp"

namespace cm::rollback {

struct Trigger {
  std::filesystem::path report;  // the validation report consulted
  bool report_read = false;      // it existed and parsed
  std::string overall_status;
  bool rollback_triggered = false;
  std::string rollback_reason;
  std::vector<std::string> rollback_reasons;
  bool forced = false;
  std::string reason;  // --reason

  bool acts() const { return forced || rollback_triggered; }
};

// kConfigMismatch (exit 3) when, without --force, the report is missing or is not a validation
// report, and always when it validates another run than run.json's. With --force a missing or
// unreadable report is recorded as such (a run that failed mid-import has none).
Result<Trigger> read_trigger(const RollbackOptions& options, const RunManifest& manifest);

nlohmann::json trigger_to_json(const Trigger& trigger);
// One line: "validation FAILED (reasons) in REPORT" or "forced: REASON".
std::string describe_trigger(const Trigger& trigger);

}  // namespace cm::rollback
