// Sharded runs against real Chroma servers (issue 15): three shards of one run as three parallel
// processes (one with --shard I/N, one with --shards N and JOB_COMPLETION_INDEX, one through
// deploy/slurm's script with SLURM_ARRAY_TASK_ID), one killed with SIGKILL and resumed; the target
// then equals the source, the merged validation over the three work dirs is PASSED and the shards
// are within 20% of each other in size. A corruption injected into one shard's writes fails the
// merged validation, and chroma-rollback over the three work dirs restores the pre-run target.
// Bad shard flags are usage errors that write nothing.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kShards = 3;
constexpr const char* kRunId = "shardrun1";

class ShardedRun : public MigrateIntegration {
 protected:
  fs::path shard_dir(int i) const { return dir_ / ("shard-" + std::to_string(i)); }
  // The flags every shard gets (the scheduler runs one command line), less --shard/--work-dir.
  std::vector<std::string> common_flags() const {
    return {"--source",     source_uri(), "--target",  target_uri(), "--run-id",        kRunId,
            "--batch-size", "100",        "--workers", "2",          "--retry-base-ms", "20"};
  }
  ProcessResult shard(int i, std::vector<std::string> flags,
                      const std::map<std::string, std::string>& env = {}) const {
    auto args = common_flags();
    args.insert(args.end(), {"--work-dir", shard_dir(i).string()});
    args.insert(args.end(), flags.begin(), flags.end());
    return run_process(CHROMA_MIGRATE_BIN, args, env);
  }
  // Shard i the way deploy/slurm/chroma-migrate-array.sbatch runs it in an array task.
  ProcessResult slurm_task(int i) const {
    return run_process("/bin/bash",
                       {std::string(CM_SOURCE_DIR) + "/deploy/slurm/chroma-migrate-array.sbatch",
                        "--batch-size", "100", "--workers", "2", "--retry-base-ms", "20"},
                       {{"SOURCE", source_uri()},
                        {"TARGET", target_uri()},
                        {"RUN_ID", kRunId},
                        {"SHARDS", std::to_string(kShards)},
                        {"WORK_ROOT", dir_.string()},
                        {"SLURM_ARRAY_TASK_ID", std::to_string(i)},
                        {"CHROMA_BIN_DIR", CM_BIN_DIR}});
  }
  std::vector<std::string> every_work_dir() const {
    std::vector<std::string> args;
    // The report goes to the first dir given (shard 0 here); any order is accepted (shard_test).
    for (int i = 0; i < kShards; ++i)
      args.insert(args.end(), {"--work-dir", shard_dir(i).string()});
    return args;
  }
  ProcessResult validate() const { return run_process(CHROMA_VALIDATE_BIN, every_work_dir()); }
  ProcessResult rollback(const std::vector<std::string>& extra = {}) const {
    auto args = every_work_dir();
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(CHROMA_ROLLBACK_BIN, args);
  }
  StoreState target_without_bystander() const {
    auto state = state_of(target_uri());
    state.erase("bystander");
    return state;
  }
  std::vector<std::uint64_t> shard_sizes() const {
    std::vector<std::uint64_t> sizes;
    for (int i = 0; i < kShards; ++i) {
      sizes.push_back(read_json(shard_dir(i) / "migration_summary.json")["records"]);
    }
    return sizes;
  }
};

TEST_F(ShardedRun, ThreeParallelShardsOneKilledAndResumedMigrateValidateAndRollBackAsOne) {
  corpus::CorpusOptions o;
  o.total_records = 3000;  // 4 collections x 750
  o.dimension = 32;
  seed(source_uri(), o);
  seed_bystander();
  const auto source_before = state_of(source_uri());
  const auto target_before = state_of(target_uri());

  const auto start = std::chrono::steady_clock::now();
  auto killed = std::async(std::launch::async, [&] {
    return shard(0, {"--shard", "0/3"}, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@2"}});
  });
  auto k8s = std::async(std::launch::async, [&] {
    return shard(1, {"--shards", "3"}, {{"JOB_COMPLETION_INDEX", "1"}});
  });
  auto slurm = std::async(std::launch::async, [&] { return slurm_task(2); });
  const auto crashed = killed.get();
  const auto one = k8s.get();
  const auto two = slurm.get();
  const double parallel_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(crashed.signaled && crashed.signal == SIGKILL) << crashed.output;
  ASSERT_EQ(one.exit_code, 0) << one.output;
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("shard 2/3"), std::string::npos) << two.output;

  // The killed shard resumes like any run (same flags); only its share is left to send.
  const auto resumed = shard(0, {"--shard", "0/3", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;

  EXPECT_EQ(diff_text(source_before, target_without_bystander()), "");
  EXPECT_EQ(diff_text(source_before, state_of(source_uri())), "");
  const auto sizes = shard_sizes();
  const auto [min, max] = std::minmax_element(sizes.begin(), sizes.end());
  std::cout << "shard sizes " << sizes[0] << " " << sizes[1] << " " << sizes[2]
            << "; three shards in parallel (one killed) " << parallel_seconds << " s\n";
  EXPECT_EQ(sizes[0] + sizes[1] + sizes[2], 3000u);
  EXPECT_LE(static_cast<double>(*max - *min), 0.2 * static_cast<double>(*max));
  for (int i = 0; i < kShards; ++i) {
    const auto run = read_json(shard_dir(i) / "run.json");
    EXPECT_EQ(run["shard"], std::to_string(i) + "/3");
    EXPECT_EQ(run["config"]["shard"], std::to_string(i) + "/3");
    EXPECT_EQ(read_json(shard_dir(i) / "migration_summary.json")["shard"],
              std::to_string(i) + "/3");
    // Every shard knows every target collection by id; all but one shard adopted each.
    for (const auto& t : run["target_collections"]) EXPECT_NE(t["collection_id"], "") << t;
  }
  for (std::size_t c = 0; c < 4; ++c) {
    int adopted = 0;
    for (int i = 0; i < kShards; ++i) {
      adopted +=
          read_json(shard_dir(i) / "run.json")["target_collections"][c]["adopted"].get<bool>();
    }
    EXPECT_EQ(adopted, kShards - 1) << "collection " << c;
  }

  const auto verdict = validate();
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  const auto report = read_json(shard_dir(0) / "validation_report.json");
  EXPECT_EQ(report["overall_status"], "PASSED");

  // Rolled back over all shards (forced: the verdict was PASSED): the pre-run target again.
  const auto rolled = rollback({"--force", "--reason", "test: undo the sharded run"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
  for (int i = 0; i < kShards; ++i) {
    EXPECT_NE(read_json(shard_dir(i) / "run.json")["rolled_back_at"], "") << i;
  }
  const auto again = shard(1, {"--shard", "1/3", "--resume"});
  EXPECT_EQ(again.exit_code, 3) << again.output;
}

TEST_F(ShardedRun, AFaultInOneShardFailsTheMergedValidationAndRollbackRestoresTheTarget) {
  corpus::CorpusOptions o;
  o.total_records = 1200;
  o.dimension = 32;
  seed(source_uri(), o);
  seed_bystander();
  const auto target_before = state_of(target_uri());
  for (int i = 0; i < kShards; ++i) {
    std::map<std::string, std::string> env;
    // Shard 1's second upsert lands with one embedding value shifted: counts cannot see it.
    if (i == 1) env["CHROMA_MIGRATE_FAULTS"] = "target.upsert=corrupt@2";
    const auto run = shard(i, {"--shard", std::to_string(i) + "/3"}, env);
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  // A shard resumed with another shard spec is another configuration.
  const auto other = shard(0, {"--shard", "1/3", "--resume"});
  EXPECT_EQ(other.exit_code, 3) << other.output;
  EXPECT_NE(other.output.find("shard"), std::string::npos) << other.output;

  // Validating some of the shards is refused: the verdict is over the whole run or nothing.
  const auto partial = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", shard_dir(0).string(),
                                                         "--work-dir", shard_dir(1).string()});
  EXPECT_EQ(partial.exit_code, 3) << partial.output;
  EXPECT_NE(partial.output.find("missing shard(s) 2"), std::string::npos) << partial.output;

  // One shard's work dir alone is 1/3 of the run: neither judged nor rolled back on its own.
  const auto alone = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", shard_dir(1).string()});
  EXPECT_EQ(alone.exit_code, 3) << alone.output;
  EXPECT_NE(alone.output.find("missing shard(s) 0, 2"), std::string::npos) << alone.output;
  const auto rollback_alone = run_process(
      CHROMA_ROLLBACK_BIN, {"--work-dir", shard_dir(0).string(), "--force", "--reason", "one"});
  EXPECT_EQ(rollback_alone.exit_code, 2) << rollback_alone.output;
  EXPECT_NE(state_of(target_uri()).count("kb_articles"), 0u);

  const auto verdict = validate();
  EXPECT_EQ(verdict.exit_code, 2) << verdict.output;
  const auto report = read_json(shard_dir(0) / "validation_report.json");
  EXPECT_EQ(report["overall_status"], "FAILED");
  EXPECT_EQ(report["rollback_triggered"], true);

  const auto rolled = rollback();
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
}

TEST_F(ShardedRun, StagedShardsAreCutOverOnceForAllAndRolledBack) {
  corpus::CorpusOptions o;
  o.total_records = 1200;
  o.dimension = 32;
  seed(source_uri(), o);
  seed_bystander();
  const auto source_before = state_of(source_uri());
  const auto target_before = state_of(target_uri());
  for (int i = 0; i < kShards; ++i) {
    const auto run = shard(i, {"--shard", std::to_string(i) + "/3", "--stage"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  // Staged: the live names are untouched, the staging collections hold the union.
  EXPECT_EQ(target_without_bystander().count("kb_articles"), 0u);
  ASSERT_EQ(validate().exit_code, 0);
  auto cutover_args = every_work_dir();
  cutover_args.push_back("--cutover");
  const auto with_sync = run_process(CHROMA_MIGRATE_BIN, cutover_args);
  EXPECT_EQ(with_sync.exit_code, 2) << with_sync.output;
  EXPECT_NE(with_sync.output.find("--no-final-sync"), std::string::npos) << with_sync.output;
  cutover_args.push_back("--no-final-sync");
  const auto cut = run_process(CHROMA_MIGRATE_BIN, cutover_args);
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_EQ(diff_text(source_before, target_without_bystander()), "");
  // A validation after the cutover keeps the merged work dir that journals it and judges the live
  // names.
  const auto after = validate();
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("journals in it"), std::string::npos) << after.output;

  const auto rolled = rollback({"--force", "--reason", "test: undo the staged sharded run"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
}

// The demo mapping routes the four flat collections into four new ones (merges and splits) under a
// contract: each shard transforms its share, and the merged validation judges the union (the
// transformed snapshots merged too) with the contract, citations across shards included.
TEST_F(ShardedRun, AMappingThatMergesAndSplitsCollectionsWorksAcrossShards) {
  corpus::CorpusOptions o;
  o.total_records = 600;
  o.dimension = 16;
  seed(source_uri(), o);
  write_example_contract(dir_ / "contract.json", 16);
  const std::vector<std::string> mapped = {
      "--mapping", std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json",
      "--contract", (dir_ / "contract.json").string()};
  std::vector<std::future<ProcessResult>> runs;
  for (int i = 0; i < kShards; ++i) {
    auto flags = mapped;
    flags.insert(flags.end(), {"--shard", std::to_string(i) + "/3"});
    runs.push_back(std::async(std::launch::async, [this, i, flags] { return shard(i, flags); }));
  }
  for (auto& run : runs) {
    const auto done = run.get();
    ASSERT_EQ(done.exit_code, 0) << done.output;
  }
  const auto verdict = validate();
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  EXPECT_EQ(read_json(shard_dir(0) / "validation_report.json")["overall_status"], "PASSED");
  // Every target collection holds the sum of what the shards routed to it.
  const auto target = state_of(target_uri());
  const auto merged = read_json(shard_dir(0) / "shards-merged" / "run.json");
  ASSERT_EQ(merged["target_collections"].size(), target.size());
  for (const auto& t : merged["target_collections"]) {
    std::uint64_t routed = 0;
    for (int i = 0; i < kShards; ++i) {
      const auto run = read_json(shard_dir(i) / "run.json");  // outlives the loop over its ledger
      for (const auto& e : run["target_collections"]) {
        if (e["name"] == t["name"]) routed += e["expected_records"].get<std::uint64_t>();
      }
    }
    EXPECT_EQ(t["expected_records"], routed) << t;
    EXPECT_EQ(target.at(t["name"].get<std::string>()).count, routed) << t;
  }
}

TEST_F(ShardedRun, BadShardFlagsAreUsageErrorsThatWriteNothing) {
  struct Case {
    std::vector<std::string> flags;
    std::map<std::string, std::string> env;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"--shard", "3/3"}, {}, "below N"},
      {{"--shard", "0/0"}, {}, "N must be >= 1"},
      {{"--shards", "0"}, {}, "N must be >= 1"},
      {{"--shards", "3"}, {}, "neither is set"},
      {{"--shards", "3"}, {{"SLURM_ARRAY_TASK_ID", "5"}}, "--array=0-2"},
      {{"--shard", "0/3", "--shards", "3"}, {}, "two forms of one choice"},
      {{"--shard", "0/3", "--if-exists", "replace"}, {}, "need --prepared DIR"},
      {{"--shard", "0/3", "--prepared", "/nonexistent"}, {}, "--prepared is for the shards"},
  };
  for (const auto& c : cases) {
    auto run = shard(0, c.flags, c.env);
    EXPECT_EQ(run.exit_code, 2) << c.says << "\n" << run.output;
    EXPECT_NE(run.output.find(c.says), std::string::npos) << run.output;
    EXPECT_FALSE(fs::exists(shard_dir(0))) << c.says;
  }
  // --run-id is what the shards share: without it a shard is refused.
  auto args =
      std::vector<std::string>{"--source",   source_uri(),          "--target", target_uri(),
                               "--work-dir", shard_dir(0).string(), "--shard",  "0/3"};
  auto no_run_id = run_process(CHROMA_MIGRATE_BIN, args);
  EXPECT_EQ(no_run_id.exit_code, 2) << no_run_id.output;
  EXPECT_NE(no_run_id.output.find("need --run-id"), std::string::npos) << no_run_id.output;
  EXPECT_TRUE(state_of(target_uri()).empty());
}

}  // namespace
}  // namespace cm::testing
