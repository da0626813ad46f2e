#include "validate/verdict.hpp"

#include <algorithm>
#include <map>

namespace cm::validate {
namespace {

// The first result whose figures hold `key` as a number.
double figure(const std::vector<CheckResult>& results, const char* key) {
  for (const auto& r : results) {
    if (r.figures.is_object() && r.figures.contains(key) && r.figures[key].is_number()) {
      return r.figures[key].get<double>();
    }
  }
  return 0;
}

void add_reason(std::vector<std::string>& reasons, const std::string& reason) {
  if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(reason);
}

}  // namespace

const char* status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::kNotApplicable:
      return "NOT_APPLICABLE";
    case CheckStatus::kPassed:
      return "PASSED";
    case CheckStatus::kWarning:
      return "WARNING";
    case CheckStatus::kFailed:
      return "FAILED";
    case CheckStatus::kError:
      return "ERROR";
  }
  return "ERROR";
}

std::string Verdict::rollback_reason() const {
  std::string out;
  for (const auto& r : rollback_reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

std::string rollback_reason_for(const std::string& check_name, const std::string& title) {
  static const std::map<std::string, std::string> kReasons = {
      {"count_verification", "Chunk Count Mismatch"},
      {"embedding_integrity", "Embedding Corruption"},
      {"metadata_completeness", "Schema Violation"},
      {"semantic_search_equivalence", "Semantic Search Check Failed"},
      {"semantic_search", "Semantic Search Check Failed"},
      {"collection_distribution", "Collection Distribution Mismatch"},
      {"duplicate_detection", "Duplicate IDs Found"},
      {"field_type_validation", "Field Type Violation"},
      {"citation_references", "Dangling Citations"},
  };
  auto it = kReasons.find(check_name);
  return it != kReasons.end() ? it->second : (title.empty() ? check_name : title) + " Failed";
}

Verdict compute_verdict(std::vector<CheckResult>& results, const Thresholds& thresholds) {
  Verdict v;
  v.data_loss_percentage = figure(results, "data_loss_percentage");
  v.semantic_divergence_percentage = figure(results, "semantic_divergence_percentage");
  if (v.data_loss_percentage > thresholds.data_loss_fail_pct) {
    add_reason(v.rollback_reasons, "Data Loss Detected");
  }
  if (v.semantic_divergence_percentage > thresholds.semantic_divergence_fail_pct) {
    add_reason(v.rollback_reasons, "Search Results Diverged");
  }
  for (auto& r : results) {
    switch (r.status) {
      case CheckStatus::kNotApplicable:
        ++v.not_applicable;
        break;
      case CheckStatus::kPassed:
        ++v.passed;
        break;
      case CheckStatus::kWarning:
        ++v.warnings;
        break;
      case CheckStatus::kFailed:
        ++v.failed;
        break;
      case CheckStatus::kError:
        ++v.errors;
        break;
    }
    const CheckStatus folded = r.status == CheckStatus::kError ? CheckStatus::kFailed : r.status;
    v.overall = std::max(v.overall, folded);
    if (folded == CheckStatus::kFailed) {
      if (r.rollback_reason.empty()) r.rollback_reason = rollback_reason_for(r.name, r.title);
      add_reason(v.rollback_reasons, r.rollback_reason);
    } else {
      r.rollback_reason.clear();
    }
  }
  if (v.rollback_triggered()) v.overall = CheckStatus::kFailed;
  return v;
}

int exit_code_for_status(CheckStatus overall) {
  switch (overall) {
    case CheckStatus::kNotApplicable:  // never the overall status; it cannot be worse than PASSED
    case CheckStatus::kPassed:
      return kValidateExitPassed;
    case CheckStatus::kWarning:
      return kValidateExitWarning;
    default:
      return kValidateExitFailed;
  }
}

}  // namespace cm::validate
