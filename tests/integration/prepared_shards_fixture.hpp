// The fixture of the sharded runs into live target collections (issue 15; --prepare, then shards
// with --prepared): a source of two collections (900 records, 16 dimensions), the prepared dir and
// three shard work dirs under the test's dir, and a target collection holding foreign records.
// Used by sharded_prepare_test (in place) and sharded_staged_prepare_test (--stage).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {

inline constexpr int kShards = 3;
inline constexpr const char* kRunId = "preprun1";

class PreparedShards : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 900;
    o.collections = 2;
    o.dimension = 16;
    seed(source_uri(), o);
    source_ = state_of(source_uri());
    ASSERT_EQ(source_.size(), 2u);
    name_ = source_.begin()->first;
  }
  std::filesystem::path shard_dir(int i) const { return dir_ / ("shard-" + std::to_string(i)); }
  std::filesystem::path prepared_dir() const { return dir_ / "prepared"; }
  std::vector<std::string> common_flags(const std::string& if_exists) const {
    std::vector<std::string> flags = {"--source",        source_uri(), "--target",    target_uri(),
                                      "--run-id",        kRunId,       "--if-exists", if_exists,
                                      "--batch-size",    "100",        "--workers",   "2",
                                      "--retry-base-ms", "20"};
    flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
    return flags;
  }
  ProcessResult prepare(const std::string& if_exists,
                        const std::map<std::string, std::string>& env = {}) const {
    auto args = common_flags(if_exists);
    args.insert(args.end(), {"--prepare", "--shards", "3", "--work-dir", prepared_dir().string()});
    return run_process(CHROMA_MIGRATE_BIN, args, env);
  }
  ProcessResult shard(int i, const std::string& if_exists, bool prepared = true) const {
    auto args = common_flags(if_exists);
    args.insert(args.end(),
                {"--shard", std::to_string(i) + "/3", "--work-dir", shard_dir(i).string()});
    if (prepared) args.insert(args.end(), {"--prepared", prepared_dir().string()});
    return run_process(CHROMA_MIGRATE_BIN, args);
  }
  void all_shards_in_parallel(const std::string& if_exists) const {
    std::vector<std::future<ProcessResult>> runs;
    for (int i = 0; i < kShards; ++i) {
      runs.push_back(
          std::async(std::launch::async, [this, i, if_exists] { return shard(i, if_exists); }));
    }
    for (auto& run : runs) {
      const auto done = run.get();
      ASSERT_EQ(done.exit_code, 0) << done.output;
    }
  }
  std::vector<std::string> every_work_dir() const {
    std::vector<std::string> args;
    for (int i = 0; i < kShards; ++i)
      args.insert(args.end(), {"--work-dir", shard_dir(i).string()});
    return args;
  }
  // The target's `name_` (the source's space) holding 20 foreign records and 3 records under
  // source ids with other content (the merge overwrites those; rollback must bring them back).
  CollectionInfo target_with_foreign_records() const {
    auto target = open(target_uri());
    CollectionSpec spec{name_, {{"owner", std::string("app")}}, {}, {}};
    spec.hnsw.space = source_.at(name_).info.hnsw.space;
    auto created = target->create_collection(spec);
    EXPECT_TRUE(created) << created.error().message;
    std::vector<Record> records;
    for (int i = 0; i < 20; ++i) {
      records.push_back({"foreign-" + std::to_string(i),
                         std::vector<float>(16, 0.5f + 0.01f * static_cast<float>(i)),
                         "foreign",
                         {{"n", std::int64_t{i}}}});
    }
    for (int i = 0; i < 3; ++i) {
      Record r = source_.at(name_).records.at(static_cast<std::size_t>(i) * 11);
      r.embedding.assign(16, 0.125f * static_cast<float>(i + 1));
      r.document = "old version " + std::to_string(i);
      records.push_back(std::move(r));
    }
    EXPECT_TRUE(target->upsert(*created, records));
    return *created;
  }
  std::vector<Record> foreign_records(const StoreState& state) const {
    std::vector<Record> out;
    for (const auto& r : state.at(name_).records)
      if (r.id.starts_with("foreign-")) out.push_back(r);
    return out;
  }
  // The 20 foreign records of target_with_foreign_records() are in `after` as in `before`: same
  // ids, documents, metadata and vectors.
  void expect_foreign_records_kept(const StoreState& before, const StoreState& after) const {
    const auto was = foreign_records(before), is = foreign_records(after);
    ASSERT_EQ(is.size(), 20u);
    ASSERT_EQ(was.size(), 20u);
    for (std::size_t i = 0; i < was.size(); ++i) {
      EXPECT_EQ(is[i].id, was[i].id);
      EXPECT_EQ(is[i].document, was[i].document);
      EXPECT_EQ(is[i].metadata, was[i].metadata);
      EXPECT_EQ(is[i].embedding, was[i].embedding);
    }
  }

  StoreState source_;
  std::string name_;
  std::vector<std::string> extra_flags_;  // given to --prepare and every shard (e.g. --stage)
};

}  // namespace cm::testing
