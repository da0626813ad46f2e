// The verdict: overall status = worst test (ERROR counts as FAILED), and the rollback-reason table.
#include "validate/verdict.hpp"

#include <gtest/gtest.h>

namespace cm::validate {
namespace {

CheckResult result(const std::string& name, CheckStatus status,
                   nlohmann::json figures = nlohmann::json::object()) {
  CheckResult r;
  r.name = name;
  r.title = name;
  r.status = status;
  r.figures = std::move(figures);
  return r;
}

std::vector<CheckResult> all_passed() {
  std::vector<CheckResult> out;
  for (const char* n : {"count_verification", "embedding_integrity", "metadata_completeness",
                        "semantic_search_equivalence", "collection_distribution",
                        "duplicate_detection", "field_type_validation", "citation_references"}) {
    out.push_back(result(n, CheckStatus::kPassed));
  }
  out[0].figures["data_loss_percentage"] = 0.0;
  out[3].figures["semantic_divergence_percentage"] = 0.0;
  return out;
}

TEST(ValidateVerdictTest, AllPassedIsPassedWithoutRollback) {
  auto results = all_passed();
  auto v = compute_verdict(results, {});
  EXPECT_EQ(v.overall, CheckStatus::kPassed);
  EXPECT_FALSE(v.rollback_triggered());
  EXPECT_EQ(v.rollback_reason(), "");
  EXPECT_EQ(v.passed, 8u);
  EXPECT_EQ(exit_code_for_status(v.overall), 0);
}

TEST(ValidateVerdictTest, AWarningIsTheWorstWithoutRollback) {
  auto results = all_passed();
  results[4].status = CheckStatus::kWarning;
  auto v = compute_verdict(results, {});
  EXPECT_EQ(v.overall, CheckStatus::kWarning);
  EXPECT_FALSE(v.rollback_triggered());
  EXPECT_EQ(v.warnings, 1u);
  EXPECT_EQ(exit_code_for_status(v.overall), 1);
  EXPECT_EQ(results[4].rollback_reason, "");
}

TEST(ValidateVerdictTest, EachFailedTestTriggersRollbackWithItsOwnReason) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"count_verification", "Chunk Count Mismatch"},
      {"embedding_integrity", "Embedding Corruption"},
      {"metadata_completeness", "Schema Violation"},
      {"semantic_search_equivalence", "Semantic Search Check Failed"},
      {"collection_distribution", "Collection Distribution Mismatch"},
      {"duplicate_detection", "Duplicate IDs Found"},
      {"field_type_validation", "Field Type Violation"},
      {"citation_references", "Dangling Citations"},
  };
  for (std::size_t i = 0; i < table.size(); ++i) {
    auto results = all_passed();
    results[i].status = CheckStatus::kFailed;
    auto v = compute_verdict(results, {});
    EXPECT_EQ(v.overall, CheckStatus::kFailed) << table[i].first;
    EXPECT_EQ(v.rollback_reasons, std::vector<std::string>{table[i].second}) << table[i].first;
    EXPECT_EQ(results[i].rollback_reason, table[i].second);
    EXPECT_EQ(exit_code_for_status(v.overall), 2);
  }
  EXPECT_EQ(rollback_reason_for("something_new", "Something new"), "Something new Failed");
}

TEST(ValidateVerdictTest, ErrorCountsAsFailed) {
  auto results = all_passed();
  results[6].status = CheckStatus::kError;
  auto v = compute_verdict(results, {});
  EXPECT_EQ(v.overall, CheckStatus::kFailed);
  EXPECT_EQ(v.errors, 1u);
  EXPECT_EQ(v.rollback_reason(), "Field Type Violation");
}

TEST(ValidateVerdictTest, PercentagesAddTheirReasonsFirstAndSeveralReasonsAreListedOnce) {
  auto results = all_passed();
  results[0].status = CheckStatus::kFailed;
  results[0].figures["data_loss_percentage"] = 12.5;
  results[3].status = CheckStatus::kFailed;
  results[3].rollback_reason = "Search Results Diverged";  // a check may name its own reason
  results[3].figures["semantic_divergence_percentage"] = 40.0;
  results[5].status = CheckStatus::kFailed;
  auto v = compute_verdict(results, {});
  EXPECT_DOUBLE_EQ(v.data_loss_percentage, 12.5);
  EXPECT_DOUBLE_EQ(v.semantic_divergence_percentage, 40.0);
  EXPECT_EQ(v.rollback_reasons,
            (std::vector<std::string>{"Data Loss Detected", "Search Results Diverged",
                                      "Chunk Count Mismatch", "Duplicate IDs Found"}));
  EXPECT_EQ(
      v.rollback_reason(),
      "Data Loss Detected; Search Results Diverged; Chunk Count Mismatch; Duplicate IDs Found");
}

TEST(ValidateVerdictTest, ThresholdsAreStrictlyExceededAndOverridable) {
  auto results = all_passed();
  results[0].figures["data_loss_percentage"] = 5.0;  // "> 5%": exactly 5 does not fire
  results[3].figures["semantic_divergence_percentage"] = 20.0;
  EXPECT_FALSE(compute_verdict(results, {}).rollback_triggered());
  Thresholds strict;
  strict.data_loss_fail_pct = 1.0;
  auto v = compute_verdict(results, strict);
  EXPECT_EQ(v.rollback_reasons, std::vector<std::string>{"Data Loss Detected"});
  EXPECT_EQ(v.overall, CheckStatus::kFailed) << "a triggered rollback is a FAILED verdict";
}

TEST(ValidateVerdictTest, StatusNames) {
  EXPECT_STREQ(status_name(CheckStatus::kPassed), "PASSED");
  EXPECT_STREQ(status_name(CheckStatus::kWarning), "WARNING");
  EXPECT_STREQ(status_name(CheckStatus::kFailed), "FAILED");
  EXPECT_STREQ(status_name(CheckStatus::kError), "ERROR");
  EXPECT_STREQ(status_name(CheckStatus::kNotApplicable), "NOT_APPLICABLE");
}

// A contract-only validation: the source-based tests are NOT_APPLICABLE; they are counted apart
// and neither pass nor fail the verdict, which the judged tests alone decide.
TEST(ValidateVerdictTest, NotApplicableTestsNeverDecideTheVerdict) {
  auto results = all_passed();
  for (std::size_t i : {0u, 3u, 4u, 5u}) results[i].status = CheckStatus::kNotApplicable;
  auto v = compute_verdict(results, {});
  EXPECT_EQ(v.overall, CheckStatus::kPassed);
  EXPECT_EQ(v.not_applicable, 4u);
  EXPECT_EQ(v.passed, 4u);
  results[2].status = CheckStatus::kFailed;
  v = compute_verdict(results, {});
  EXPECT_EQ(v.overall, CheckStatus::kFailed);
  EXPECT_EQ(v.rollback_reason(), "Schema Violation");
}

}  // namespace
}  // namespace cm::validate
