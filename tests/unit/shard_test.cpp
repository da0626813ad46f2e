// Sharded runs (common/run/shard.hpp, shard_set.hpp): the shard spec from --shard I/N or from
// --shards N plus a scheduler's index variable, every refusal naming its fix; the split is stable
// (pinned values) and even; a sharded id scan writes exactly the ids its shard owns, the shards
// together every id once; a set of work dirs is accepted only as every shard of one run.
#include "common/run/shard.hpp"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <set>

#include "common/run/id_scan.hpp"
#include "common/run/shard_set.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

TEST(ShardSpecTest, ParsesIOverN) {
  auto spec = parse_shard_spec("2/3");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->index, 2u);
  EXPECT_EQ(spec->count, 3u);
  EXPECT_EQ(spec->to_string(), "2/3");
  EXPECT_TRUE(parse_shard_spec("0/1"));
}

TEST(ShardSpecTest, RefusesWhatIsNotAShard) {
  for (const char* bad : {"3/3", "4/3", "0/0", "1", "a/3", "1/b", "-1/3", "1/3x", "/3", "1/", ""}) {
    auto spec = parse_shard_spec(bad);
    ASSERT_FALSE(spec) << bad;
    EXPECT_EQ(spec.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(parse_shard_spec("3/3").error().message.find("below N"), std::string::npos);
}

TEST(ShardSpecTest, ResolvesTheIndexFromTheScheduler) {
  ShardEnvironment k8s{.job_completion_index = "1", .slurm_array_task_id = std::nullopt};
  auto a = resolve_shard("", 3u, k8s);
  ASSERT_TRUE(a && *a) << (a ? "" : a.error().message);
  EXPECT_EQ((*a)->to_string(), "1/3");
  ShardEnvironment slurm{.job_completion_index = std::nullopt, .slurm_array_task_id = "2"};
  auto b = resolve_shard("", 3u, slurm);
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->to_string(), "2/3");
  // Neither flag: an unsharded run, whatever the environment says.
  auto none = resolve_shard("", std::nullopt, k8s);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto flag = resolve_shard("0/2", std::nullopt, slurm);
  ASSERT_TRUE(flag && *flag);
  EXPECT_EQ((*flag)->to_string(), "0/2");
}

TEST(ShardSpecTest, RefusalsNameTheFix) {
  const ShardEnvironment none{};
  struct Case {
    std::string shard;
    std::optional<std::uint32_t> shards;
    ShardEnvironment env;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"0/3", 3u, none, "two forms of one choice"},
      {"", 0u, none, "N must be >= 1"},
      {"", 3u, none, "neither is set"},
      {"", 3u, {.job_completion_index = "3", .slurm_array_task_id = std::nullopt}, "--array=0-2"},
      {"", 3u, {.job_completion_index = std::nullopt, .slurm_array_task_id = "x"}, "not a shard"},
      {"", 3u, {.job_completion_index = "0", .slurm_array_task_id = "1"}, "both set and differ"},
  };
  for (const auto& c : cases) {
    auto r = resolve_shard(c.shard, c.shards, c.env);
    ASSERT_FALSE(r) << c.says;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.says;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

TEST(ShardOfTest, IsStableAndSeparatesCollectionFromId) {
  // Pinned: a resumed shard, a shard on another machine, and the next version must agree.
  // xxh64("docs\0doc-1", seed 0) = 15689565205187240364.
  EXPECT_EQ(shard_of("docs", "doc-1", 1000), 364u);
  EXPECT_EQ(shard_of("docs", "doc-1", 7), 4u);
  EXPECT_EQ(shard_of("docs", "doc-1", 3), 0u);
  EXPECT_EQ(shard_of("docs", "doc-1", 1), 0u);
  // ("ab","c") and ("a","bc") hash apart: the separator is part of the key.
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const auto s = std::to_string(i);
    differ += shard_of("ab" + s, "c", 1u << 30) != shard_of("a", "b" + s + "c", 1u << 30);
  }
  EXPECT_GT(differ, 45);
}

TEST(ShardOfTest, SplitsEvenly) {
  constexpr std::uint32_t kShards = 3;
  std::array<int, kShards> sizes{};
  for (int i = 0; i < 30000; ++i) ++sizes[shard_of("chunks", "id-" + std::to_string(i), kShards)];
  for (int size : sizes) EXPECT_NEAR(size, 10000, 300);
}

TEST(ShardScanTest, EachShardScansItsShareAndTheSharesCoverEveryIdOnce) {
  testing::MemoryStore store{"source", StoreLimits{100000, false}};
  auto c = store.create_collection({"coll", {}, {}, {}});
  ASSERT_TRUE(c);
  std::vector<Record> records;
  for (int i = 0; i < 2000; ++i) {
    records.push_back({"r" + std::to_string(i), {1.0f, static_cast<float>(i)}, std::nullopt, {}});
  }
  ASSERT_TRUE(store.upsert(*c, records));
  const fs::path dir = testing::make_temp_dir("shard-scan");
  std::set<std::string> all;
  for (std::uint32_t i = 0; i < 3; ++i) {
    const ShardSpec shard{.index = i, .count = 3};
    auto result =
        scan_ids(store, *c, 100, dir / (std::to_string(i) + ".ids"), ScanMode::kFuzzy, shard);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->id_count + result->other_shards, 2000u);
    EXPECT_FALSE(result->changed());
    auto file = IdBatchFile::open(dir / (std::to_string(i) + ".ids"));
    ASSERT_TRUE(file);
    std::uint64_t n = 0;
    for (std::size_t b = 0; b < file->batch_count(); ++b) {
      auto batch = file->batch(b);
      ASSERT_TRUE(batch) << batch.error().message;
      for (const auto& id : *batch) {
        EXPECT_TRUE(shard.owns("coll", id)) << id;
        EXPECT_TRUE(all.insert(id).second) << id << " in two shards";
        ++n;
      }
    }
    EXPECT_EQ(n, result->id_count);
  }
  EXPECT_EQ(all.size(), 2000u);
  fs::remove_all(dir);
}

class ShardSetTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("shard-set"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path shard_dir(const std::string& run_id, std::optional<ShardSpec> shard) {
    const fs::path dir =
        dir_ / (run_id + "-" + (shard ? std::to_string(shard->index) : std::string("x")) +
                std::to_string(n_++));
    fs::create_directories(dir);
    RunManifest m;
    m.run_id = run_id;
    m.source = "s";
    m.target = "t";
    m.shard = shard;
    EXPECT_TRUE(RunManifestStore::create(dir / "run.json", m));
    return dir;
  }
  fs::path dir_;
  int n_ = 0;
};

TEST_F(ShardSetTest, AcceptsEveryShardOfOneRunInAnyOrder) {
  const auto d2 = shard_dir("r", ShardSpec{2, 3});
  const auto d0 = shard_dir("r", ShardSpec{0, 3});
  const auto d1 = shard_dir("r", ShardSpec{1, 3});
  auto set = load_shard_set({d2, d0, d1});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->run_id, "r");
  EXPECT_EQ(set->work_dirs, (std::vector<fs::path>{d0, d1, d2}));
  EXPECT_EQ(set->manifests[2].shard, (ShardSpec{2, 3}));
}

TEST_F(ShardSetTest, RefusesMissingDoubledForeignAndUnshardedDirs) {
  const auto d0 = shard_dir("r", ShardSpec{0, 3});
  const auto d1 = shard_dir("r", ShardSpec{1, 3});
  auto missing = load_shard_set({d0, d1});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing shard(s) 2"), std::string::npos);
  auto doubled = load_shard_set({d0, d1, d1});
  ASSERT_FALSE(doubled);
  EXPECT_NE(doubled.error().message.find("given twice 1"), std::string::npos);
  auto other_run = load_shard_set({d0, d1, shard_dir("q", ShardSpec{2, 3})});
  ASSERT_FALSE(other_run);
  EXPECT_EQ(other_run.error().code, ErrorCode::kConfigMismatch);
  auto other_n = load_shard_set({d0, d1, shard_dir("r", ShardSpec{2, 4})});
  ASSERT_FALSE(other_n);
  EXPECT_EQ(other_n.error().code, ErrorCode::kConfigMismatch);
  auto unsharded = load_shard_set({d0, shard_dir("r", std::nullopt)});
  ASSERT_FALSE(unsharded);
  EXPECT_NE(unsharded.error().message.find("not sharded"), std::string::npos);
  auto absent = load_shard_set({d0, dir_ / "nowhere"});
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);
}

TEST_F(ShardSetTest, TellsAShardsWorkDirFromOthers) {
  EXPECT_TRUE(holds_shard(shard_dir("r", ShardSpec{0, 2})));
  EXPECT_FALSE(holds_shard(shard_dir("r", std::nullopt)));
  EXPECT_FALSE(holds_shard(dir_ / "nowhere"));
  EXPECT_FALSE(holds_shard(""));
}

TEST_F(ShardSetTest, RunJsonKeepsTheShard) {
  const auto d = shard_dir("r", ShardSpec{1, 4});
  auto loaded = RunManifestStore::load(d / "run.json");
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->get().shard, (ShardSpec{1, 4}));
  const auto u = shard_dir("r", std::nullopt);
  EXPECT_FALSE((*RunManifestStore::load(u / "run.json"))->get().shard);
}

}  // namespace
}  // namespace cm
