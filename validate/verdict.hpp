// From the tests' results to the verdict that drives the automatic rollback (issue 4's table):
//   overall status      the worst test status, ERROR counting as FAILED;
//   rollback reasons    data_loss_percentage > data_loss_fail_pct       -> "Data Loss Detected"
//                       semantic divergence > semantic_divergence_fail_pct -> "Search Results
//                       Diverged" every FAILED or ERROR test                       -> its own
//                       reason
//                         (rollback_reason_for: "Chunk Count Mismatch", "Embedding Corruption",
//                         ...)
//                       several may fire; each is listed once, in this order.
// A triggered rollback makes the overall status FAILED even if every test only warned, so the exit
// code and rollback_triggered never disagree.
#pragma once

#include <string>
#include <vector>

#include "common/cli/exit_codes.hpp"  // kValidateExit*: the verdicts as exit codes
#include "validate/check.hpp"
#include "validate/thresholds.hpp"

namespace cm::validate {

struct Verdict {
  CheckStatus overall = CheckStatus::kPassed;  // never kError: folded into kFailed
  std::vector<std::string> rollback_reasons;
  double data_loss_percentage = 0;            // check 1's figure; 0 when it did not report one
  double semantic_divergence_percentage = 0;  // check 4's figure; 0 when it did not report one
  std::uint64_t passed = 0, warnings = 0, failed = 0, errors = 0, not_applicable = 0;

  bool rollback_triggered() const { return !rollback_reasons.empty(); }
  std::string rollback_reason() const;  // the reasons joined with "; "
};

// The reason a FAILED or ERROR test triggers rollback with.
std::string rollback_reason_for(const std::string& check_name, const std::string& title);

// Also fills the rollback_reason of every FAILED/ERROR result that has none.
Verdict compute_verdict(std::vector<CheckResult>& results, const Thresholds& thresholds);

// kValidateExitPassed / Warning / Failed (common/cli/exit_codes.hpp); ERROR counts as FAILED.
int exit_code_for_status(CheckStatus overall);

}  // namespace cm::validate
