// chroma-rollback of a sharded run one of whose shards did not finish (issue 15): a shard killed
// with SIGKILL mid-import and never resumed is what a rollback is for. Against real Chroma servers:
//  - create-only: three shards into a target holding a foreign collection, shard 0 killed at its
//    second upsert (fault injection, not timing); chroma-validate over the three work dirs is
//    refused (exit 3), and so is chroma-rollback without a report unless forced (exit 3, as for an
//    unsharded unfinished run); forced, it archives and drops every collection of the run (by id
//    and ledger key) and leaves the foreign one as it was; every shard is marked rolled back, so
//    the killed shard can no longer resume; a shard still running (work dir locked) is exit 9;
//  - prepared merge: shard 1 killed mid-import into a live collection with foreign records; the
//    forced rollback over the three work dirs restores it exactly from the prepared backup.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/run/work_dir_lock.hpp"
#include "tests/integration/prepared_shards_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kCrashAtSecondUpsert = {
    {"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@2"}};

std::vector<std::string> forced(std::vector<std::string> args) {
  args.insert(args.end(), {"--force", "--reason", "test: a shard crashed"});
  return args;
}

class UnfinishedShard : public PreparedShards {
 protected:
  std::vector<std::string> create_only_flags(int i) const {
    return {"--source",        source_uri(),
            "--target",        target_uri(),
            "--run-id",        "crashrun1",
            "--batch-size",    "100",
            "--workers",       "2",
            "--retry-base-ms", "20",
            "--shard",         std::to_string(i) + "/3",
            "--work-dir",      shard_dir(i).string()};
  }
  std::vector<std::string> prepared_flags(int i) const {
    auto args = common_flags("merge");
    args.insert(args.end(), {"--shard", std::to_string(i) + "/3", "--work-dir",
                             shard_dir(i).string(), "--prepared", prepared_dir().string()});
    return args;
  }
};

TEST_F(UnfinishedShard, CreateOnlyRunWithAKilledShardRollsBackToThePreRunTarget) {
  seed_bystander();
  const auto target_before = state_of(target_uri());
  const std::string bystander_id = target_before.at("bystander").info.id;

  // Shard 0 first: it creates the run's first collection, then dies at its second upsert.
  const auto killed = run_process(CHROMA_MIGRATE_BIN, create_only_flags(0), kCrashAtSecondUpsert);
  ASSERT_TRUE(killed.signaled && killed.signal == SIGKILL) << killed.output;
  for (int i = 1; i < kShards; ++i) {
    const auto run = run_process(CHROMA_MIGRATE_BIN, create_only_flags(i));
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  ASSERT_EQ(state_of(target_uri()).size(), source_.size() + 1);

  // The verdict needs every shard finished; the rollback does not, but needs a report or --force.
  const auto verdict = run_process(CHROMA_VALIDATE_BIN, every_work_dir());
  EXPECT_EQ(verdict.exit_code, 3) << verdict.output;
  EXPECT_NE(verdict.output.find("has not finished"), std::string::npos) << verdict.output;
  const auto unforced = run_process(CHROMA_ROLLBACK_BIN, every_work_dir());
  EXPECT_EQ(unforced.exit_code, 3) << unforced.output;
  EXPECT_NE(unforced.output.find("--force"), std::string::npos) << unforced.output;
  EXPECT_EQ(state_of(target_uri()).size(), source_.size() + 1) << "nothing changed";

  {
    // A shard still running (its work dir locked) would write after the rollback: refused.
    auto running = WorkDirLock::acquire(shard_dir(1), "chroma-migrate");
    ASSERT_TRUE(running) << running.error().message;
    const auto refused = run_process(CHROMA_ROLLBACK_BIN, forced(every_work_dir()));
    EXPECT_EQ(refused.exit_code, 9) << refused.output;
    EXPECT_EQ(state_of(target_uri()).size(), source_.size() + 1) << "nothing changed";
  }
  const auto rolled = run_process(CHROMA_ROLLBACK_BIN, forced(every_work_dir()));
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "") << rolled.output;
  // Shard 0 streams its export into the import: it died with its snapshot unsealed, which the
  // merged work dir then does without (no union that would call its records others').
  EXPECT_NE(rolled.output.find("has not sealed"), std::string::npos) << rolled.output;
  EXPECT_EQ(state_of(target_uri()).at("bystander").info.id, bystander_id);
  const auto merged = read_json(shard_dir(0) / "shards-merged" / "run.json");
  for (const auto& t : merged["target_collections"]) EXPECT_NE(t["collection_id"], "") << t;
  for (int i = 0; i < kShards; ++i) {
    EXPECT_NE(read_json(shard_dir(i) / "run.json")["rolled_back_at"], "") << i;
  }
  const auto resumed = run_process(CHROMA_MIGRATE_BIN, [&] {
    auto args = create_only_flags(0);
    args.push_back("--resume");
    return args;
  }());
  EXPECT_EQ(resumed.exit_code, 3) << resumed.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
  // Done: the same command again has nothing left to do.
  const auto again = run_process(CHROMA_ROLLBACK_BIN, forced(every_work_dir()));
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

TEST_F(UnfinishedShard, PreparedMergeWithAKilledShardRestoresTheLiveCollectionExactly) {
  target_with_foreign_records();
  const auto target_before = state_of(target_uri());
  ASSERT_EQ(prepare("merge").exit_code, 0);
  const auto first = run_process(CHROMA_MIGRATE_BIN, prepared_flags(0));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto killed = run_process(CHROMA_MIGRATE_BIN, prepared_flags(1), kCrashAtSecondUpsert);
  ASSERT_TRUE(killed.signaled && killed.signal == SIGKILL) << killed.output;
  const auto last = run_process(CHROMA_MIGRATE_BIN, prepared_flags(2));
  ASSERT_EQ(last.exit_code, 0) << last.output;
  EXPECT_NE(diff_text(target_before, state_of(target_uri()), false), "");

  const auto rolled = run_process(CHROMA_ROLLBACK_BIN, forced(every_work_dir()));
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  const auto after = state_of(target_uri());
  EXPECT_EQ(diff_text(target_before, after, false), "");
  expect_foreign_records_kept(target_before, after);
  for (int i = 0; i < kShards; ++i) {
    EXPECT_NE(read_json(shard_dir(i) / "run.json")["rolled_back_at"], "") << i;
  }
}

}  // namespace
}  // namespace cm::testing
