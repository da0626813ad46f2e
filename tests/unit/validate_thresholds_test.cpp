// Thresholds: documented defaults, overrides from a JSON file, every mistake named with its place.
#include "validate/thresholds.hpp"

#include <gtest/gtest.h>

#include "common/base/atomic_file.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::validate {
namespace {

Result<Thresholds> parse(const char* text) {
  return parse_thresholds(nlohmann::json::parse(text), "thresholds.json");
}

TEST(ValidateThresholdsTest, DefaultsAreTheDocumentedOnes) {
  Thresholds t;
  EXPECT_EQ(t.data_loss_warning_pct, 0.0);
  EXPECT_EQ(t.data_loss_fail_pct, 5.0);
  EXPECT_EQ(t.embedding_mismatch_max, 0u);
  EXPECT_EQ(t.recall_threshold, 0.9);
  EXPECT_EQ(t.distance_tie_tolerance, 1e-3);
  EXPECT_EQ(t.semantic_divergence_warning_pct, 5.0);
  EXPECT_EQ(t.semantic_divergence_fail_pct, 20.0);
  EXPECT_EQ(t.near_duplicate_similarity, 0.999);
  EXPECT_EQ(t.baseline_memory_mb, 128u);
  auto j = thresholds_to_json(t);
  EXPECT_EQ(t.ann_recall_warning_floor, 0.5);
  EXPECT_EQ(j.size(), 10u);
  auto round_trip = parse_thresholds(j, "x");
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(thresholds_to_json(*round_trip), j);
}

TEST(ValidateThresholdsTest, OverridesOnlyTheGivenKeys) {
  auto t =
      parse(R"({"recall_threshold": 0.8, "data_loss_fail_pct": 1, "embedding_mismatch_max": 3})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->recall_threshold, 0.8);
  EXPECT_EQ(t->data_loss_fail_pct, 1.0);
  EXPECT_EQ(t->embedding_mismatch_max, 3u);
  EXPECT_EQ(t->semantic_divergence_fail_pct, 20.0);
  EXPECT_TRUE(parse("{}"));
}

TEST(ValidateThresholdsTest, MistakesNameThePlace) {
  auto unknown = parse(R"({"recall_treshold": 0.8})");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find(
                "thresholds.json: recall_treshold: unknown key (expected one of"),
            std::string::npos)
      << unknown.error().message;
  auto type = parse(R"({"recall_threshold": "high"})");
  ASSERT_FALSE(type);
  EXPECT_NE(type.error().message.find("recall_threshold: must be a number"), std::string::npos);
  auto range = parse(R"({"near_duplicate_similarity": 1.5})");
  ASSERT_FALSE(range);
  EXPECT_NE(range.error().message.find("near_duplicate_similarity: must be in [0, 1]"),
            std::string::npos)
      << range.error().message;
  EXPECT_FALSE(parse(R"({"embedding_mismatch_max": 1.5})"));
  EXPECT_FALSE(parse(R"({"embedding_mismatch_max": -1})"));
  EXPECT_FALSE(parse(R"([1, 2])"));
  auto order = parse(R"({"data_loss_warning_pct": 10})");
  ASSERT_FALSE(order);
  EXPECT_NE(order.error().message.find("must not exceed data_loss_fail_pct"), std::string::npos);
}

TEST(ValidateThresholdsTest, LoadsAFileWithComments) {
  auto dir = testing::make_temp_dir("thresholds");
  ASSERT_TRUE(write_file_atomic(dir / "t.json",
                                "{\n  // stricter search\n  \"recall_threshold\": 0.95\n}\n"));
  auto t = load_thresholds(dir / "t.json");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->recall_threshold, 0.95);
  ASSERT_TRUE(write_file_atomic(dir / "bad.json", "{"));
  auto bad = load_thresholds(dir / "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.json: not valid JSON"), std::string::npos);
  auto missing = load_thresholds(dir / "none.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cm::validate
