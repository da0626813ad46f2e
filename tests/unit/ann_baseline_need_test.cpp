// When the semantic test builds an hnswlib baseline (validate/semantic/ann_baseline.hpp): only for
// a shortfall the attribution does not already explain as the index's approximation.
#include <gtest/gtest.h>

#include "validate/semantic/ann_baseline.hpp"

namespace cm::validate {
namespace {

constexpr double kThreshold = 0.9, kFloor = 0.5;

QueryOutcome outcome(std::optional<double> recall, std::size_t divergent) {
  QueryOutcome o;
  o.recall = recall;
  o.attribution.divergent = divergent;
  return o;
}

CollectionEvaluation evaluation(std::vector<QueryOutcome> outcomes) {
  CollectionEvaluation e;
  e.outcomes = std::move(outcomes);
  return e;
}

TEST(AnnBaselineNeedTest, NoQueryBelowTheThresholdNeedsNone) {
  EXPECT_EQ(baseline_need(evaluation({outcome(1.0, 0), outcome(0.9, 0), outcome(std::nullopt, 0)}),
                          kThreshold, kFloor),
            BaselineNeed::kNone);
  EXPECT_EQ(baseline_need(evaluation({}), kThreshold, kFloor), BaselineNeed::kNone);
}

TEST(AnnBaselineNeedTest, AShortfallOfApproximationOnlyIsExplained) {
  EXPECT_EQ(baseline_need(evaluation({outcome(1.0, 0), outcome(0.8, 0)}), kThreshold, kFloor),
            BaselineNeed::kExplained);
}

TEST(AnnBaselineNeedTest, DivergenceNeedsABaseline) {
  EXPECT_EQ(baseline_need(evaluation({outcome(0.8, 0), outcome(0.7, 1)}), kThreshold, kFloor),
            BaselineNeed::kNeeded);
}

TEST(AnnBaselineNeedTest, ARecallBelowTheFloorNeedsABaselineEvenAsApproximation) {
  // Every missed neighbour intact, but the index found less than half: it may be broken.
  EXPECT_EQ(baseline_need(evaluation({outcome(0.4, 0)}), kThreshold, kFloor),
            BaselineNeed::kNeeded);
}

}  // namespace
}  // namespace cm::validate
