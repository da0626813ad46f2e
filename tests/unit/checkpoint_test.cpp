#include "checkpoints/checkpoint.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/base/atomic_file.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::ckpt {
namespace {

TEST(BatchSetTest, MergesRangesInAnyOrder) {
  BatchSet set;
  for (std::size_t i : {5, 3, 4, 0, 9, 1, 2, 4}) set.insert(i);
  EXPECT_EQ(set.size(), 7u);
  EXPECT_EQ(set.to_json().dump(), "[[0,5],[9,9]]");
  EXPECT_TRUE(set.contains(0));
  EXPECT_TRUE(set.contains(5));
  EXPECT_FALSE(set.contains(6));
  EXPECT_TRUE(set.contains(9));
  set.insert(7);
  set.insert(8);
  set.insert(6);
  EXPECT_EQ(set.to_json().dump(), "[[0,9]]");
  std::string why;
  auto back = BatchSet::from_json(set.to_json(), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(*back, set);
  EXPECT_FALSE(BatchSet::from_json(nlohmann::json::parse("[[3,1]]"), &why));
}

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = cm::testing::make_temp_dir("checkpoint"); }
  void TearDown() override {
    set_atomic_write_crash_before_rename_for_testing(false);
    std::filesystem::remove_all(dir_);
  }
  Checkpoint initial() {
    Checkpoint c;
    c.run_id = "run-1";
    c.config = {{"source", "http://a:1"}, {"batch_size", 1000}};
    return c;
  }
  std::filesystem::path dir_;
};

TEST_F(CheckpointStoreTest, RoundTripsThroughTheFile) {
  auto path = dir_ / "checkpoint.json";
  auto store = CheckpointStore::create(path, initial());
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->update([](Checkpoint& c) {
    c.phase = Phase::kImport;
    auto& p = c.progress("import", "docs");
    p.total_batches = 10;
    p.done.insert(0);
    p.done.insert(2);
    p.details["records"] = 1234;
  }));
  auto loaded = CheckpointStore::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto c = (*loaded)->snapshot();
  EXPECT_EQ(c.run_id, "run-1");
  EXPECT_EQ(c.phase, Phase::kImport);
  ASSERT_NE(c.find("import", "docs"), nullptr);
  EXPECT_EQ(c.find("import", "docs")->done.size(), 2u);
  EXPECT_EQ(c.find("import", "docs")->details["records"], 1234);
  EXPECT_EQ(c.config_hash, hash_config(initial().config));
}

TEST_F(CheckpointStoreTest, CrashBeforeRenameLeavesPreviousCheckpoint) {
  auto path = dir_ / "checkpoint.json";
  auto store = CheckpointStore::create(path, initial());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->update([](Checkpoint& c) { c.progress("export", "a").done.insert(0); }));
  set_atomic_write_crash_before_rename_for_testing(true);
  auto status = (*store)->update([](Checkpoint& c) { c.progress("export", "a").done.insert(1); });
  EXPECT_FALSE(status);
  // In memory the failed change is rolled back; on disk the previous state is intact.
  EXPECT_FALSE((*store)->snapshot().find("export", "a")->done.contains(1));
  set_atomic_write_crash_before_rename_for_testing(false);
  auto loaded = CheckpointStore::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const auto state = (*loaded)->snapshot();
  const auto* p = state.find("export", "a");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->done.contains(0));
  EXPECT_FALSE(p->done.contains(1));
}

TEST_F(CheckpointStoreTest, RefusesToOverwriteAnExistingCheckpoint) {
  auto path = dir_ / "checkpoint.json";
  ASSERT_TRUE(CheckpointStore::create(path, initial()));
  auto again = CheckpointStore::create(path, initial());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(CheckpointStoreTest, DetectsEditedOrGarbledFiles) {
  auto path = dir_ / "checkpoint.json";
  ASSERT_TRUE(write_file_atomic(path, "{not json"));
  auto garbled = CheckpointStore::load(path);
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code, ErrorCode::kCorruption);

  auto json = checkpoint_to_json(initial());
  json["config_hash"] = hash_config(initial().config);
  json["config"]["batch_size"] = 5;  // edited by hand: hash no longer matches
  ASSERT_TRUE(write_file_atomic(path, json.dump()));
  auto edited = CheckpointStore::load(path);
  ASSERT_FALSE(edited);
  EXPECT_NE(edited.error().message.find("config_hash"), std::string::npos);
}

TEST_F(CheckpointStoreTest, ConcurrentUpdatesAllLand) {
  auto path = dir_ / "checkpoint.json";
  auto store = CheckpointStore::create(path, initial());
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto index = static_cast<std::size_t>(t * 25 + i);
        ASSERT_TRUE(
            (*store)->update([&](Checkpoint& c) { c.progress("import", "x").done.insert(index); }));
      }
    });
  }
  for (auto& t : threads) t.join();
  auto loaded = CheckpointStore::load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->snapshot().find("import", "x")->done.size(), 100u);
}

TEST(ConfigDifferenceTest, NamesChangedKeys) {
  nlohmann::json a = {{"batch_size", 1000}, {"target", "http://t:1"}};
  nlohmann::json b = {{"batch_size", 500}, {"target", "http://t:1"}, {"collections", {"x"}}};
  auto text = describe_config_difference(a, b);
  EXPECT_NE(text.find("batch_size: 1000 -> 500"), std::string::npos) << text;
  EXPECT_NE(text.find("collections: (absent)"), std::string::npos) << text;
}

}  // namespace
}  // namespace cm::ckpt
