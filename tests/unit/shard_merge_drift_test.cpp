// The shards' accepted_drift.json merged into the merged work dir
// (common/run/shard_merge_drift.hpp): the union of their dangling references and findings, each
// once; nothing written when no shard accepted drift; a shard's file that is not an accepted-drift
// record is refused, naming it.
#include "common/run/shard_merge_drift.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

nlohmann::json reference(const std::string& id, const std::string& value) {
  return {{"collection", "docs"}, {"key", "cites"}, {"id", id}, {"value", value}};
}

class MergeAcceptedDrift : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("shard-drift");
    for (int i = 0; i < 3; ++i) {
      shards_.push_back(dir_ / ("shard-" + std::to_string(i)));
      fs::create_directories(shards_.back());
    }
    fs::create_directories(dir_ / "merged");
  }
  void accept(int shard, nlohmann::json references, nlohmann::json findings = {}) {
    const nlohmann::json j = {{"run_id", "r1"},
                              {"stage", "preflight"},
                              {"at", "2026-01-0" + std::to_string(shard + 1) + "T00:00:00Z"},
                              {"contract_version", "v1"},
                              {"findings", findings.is_null() ? nlohmann::json::array() : findings},
                              {"dangling_references", std::move(references)}};
    ASSERT_TRUE(write_file_atomic(WorkDir(shards_[shard]).accepted_drift(), j.dump()));
  }
  nlohmann::json merged() const {
    auto text = read_file(WorkDir(dir_ / "merged").accepted_drift());
    EXPECT_TRUE(text);
    return text ? nlohmann::json::parse(*text) : nlohmann::json();
  }

  fs::path dir_;
  std::vector<fs::path> shards_;
};

TEST_F(MergeAcceptedDrift, UnionOfEveryShardsReferencesEachOnce) {
  const nlohmann::json finding = {{"kind", "missing_field"}, {"collection", "docs"}};
  accept(0, {reference("a", "x1"), reference("b", "x2")}, {finding});
  accept(2, {reference("b", "x2"), reference("c", "x3")}, {finding});
  ASSERT_TRUE(merge_accepted_drift(shards_, WorkDir(dir_ / "merged")));
  const auto j = merged();
  EXPECT_EQ(j["run_id"], "r1");
  EXPECT_EQ(j["contract_version"], "v1");
  EXPECT_EQ(j["at"], "2026-01-03T00:00:00Z");
  EXPECT_EQ(j["dangling_references"],
            (nlohmann::json{reference("a", "x1"), reference("b", "x2"), reference("c", "x3")}));
  EXPECT_EQ(j["findings"], nlohmann::json::array({finding}));
  EXPECT_EQ(j["shards"].size(), 2u);
  // No temp file left beside it.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "merged")) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(MergeAcceptedDrift, NothingAcceptedWritesNothing) {
  ASSERT_TRUE(merge_accepted_drift(shards_, WorkDir(dir_ / "merged")));
  EXPECT_FALSE(fs::exists(WorkDir(dir_ / "merged").accepted_drift()));
}

TEST_F(MergeAcceptedDrift, AShardFileThatIsNotARecordIsRefused) {
  ASSERT_TRUE(write_file_atomic(WorkDir(shards_[1]).accepted_drift(), "{\"findings\": []}"));
  const auto merged = merge_accepted_drift(shards_, WorkDir(dir_ / "merged"));
  ASSERT_FALSE(merged);
  EXPECT_EQ(merged.error().code, ErrorCode::kCorruption);
  EXPECT_NE(merged.error().message.find("shard-1"), std::string::npos) << merged.error().message;
}

}  // namespace
}  // namespace cm
