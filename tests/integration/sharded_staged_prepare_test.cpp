// Staged sharded runs into live target collections (issue 15): chroma-migrate --prepare --stage
// --if-exists replace backs the live collection up once and drops nothing; the shards (--stage
// --prepared DIR) build "<name>.staged-<run id>" beside it, so the live name keeps serving the
// pre-run collection until the shards' --cutover swaps the staged one in and retains the live one.
// Against real Chroma servers:
//  - prepare, three parallel shards, merged validation PASSED; the live collection is untouched
//    (same id, same content) until the cutover; the cutover swaps (the live name holds the
//    migrated data, the retained name the pre-run collection, same id); --finalize drops the
//    retained one;
//  - chroma-rollback over the shards after the cutover restores the pre-run live collection
//    exactly (the same collection, renamed back); that run is started the way deploy/slurm runs it
//    (chroma-migrate-prepare.sbatch, then chroma-migrate-array.sbatch per task, IF_EXISTS set);
//  - a live collection replaced before the cutover is not swapped out (exit 9, nothing renamed);
//    the rollback then only removes the staged collections (and says the live one is not the
//    pre-run one, exit 6);
//  - a staged prepare used by an unstaged shard is exit 3, staged + merge exit 2 (prepare and
//    shard), a live collection replaced after a staged prepare exit 9; nothing written by any.
#include <gtest/gtest.h>

#include <future>

#include <nlohmann/json.hpp>

#include "common/run/collection_identity.hpp"
#include "common/run/run_manifest.hpp"
#include "tests/integration/prepared_shards_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

class StagedPreparedShards : public PreparedShards {
 protected:
  void SetUp() override {
    PreparedShards::SetUp();
    extra_flags_ = {"--stage"};
  }
  std::string retained() const { return retained_name_for(name_, kRunId); }
  std::string staged() const { return staging_name_for(name_, kRunId); }
  // The target's collections of the source's names (the run's live names).
  StoreState live_names() const {
    StoreState state = state_of(target_uri());
    StoreState out;
    for (const auto& [name, c] : source_)
      if (state.contains(name)) out[name] = state.at(name);
    return out;
  }
  // `state`'s collection `name` as the pre-run live collection's name, to compare with it.
  StoreState as_live(const StoreState& state, const std::string& name) const {
    return {{name_, state.at(name)}};
  }
  // deploy/slurm's `script` as submit.sh runs it with IF_EXISTS=replace and --stage (WORK_ROOT: the
  // test's dir, so its prepared dir and shard work dirs are the fixture's).
  ProcessResult slurm(const std::string& script, const std::map<std::string, std::string>& env) {
    std::map<std::string, std::string> all = {{"SOURCE", source_uri()},
                                              {"TARGET", target_uri()},
                                              {"RUN_ID", kRunId},
                                              {"SHARDS", std::to_string(kShards)},
                                              {"WORK_ROOT", dir_.string()},
                                              {"IF_EXISTS", "replace"},
                                              {"CHROMA_BIN_DIR", CM_BIN_DIR}};
    all.insert(env.begin(), env.end());
    return run_process("/bin/bash",
                       {std::string(CM_SOURCE_DIR) + "/deploy/slurm/" + script, "--batch-size",
                        "100", "--workers", "2", "--retry-base-ms", "20", "--stage"},
                       all);
  }
  void slurm_prepare_and_array() {
    const auto prepared = slurm("chroma-migrate-prepare.sbatch", {});
    ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
    std::vector<std::future<ProcessResult>> tasks;
    for (int i = 0; i < kShards; ++i) {
      tasks.push_back(std::async(std::launch::async, [this, i] {
        return slurm("chroma-migrate-array.sbatch", {{"SLURM_ARRAY_TASK_ID", std::to_string(i)}});
      }));
    }
    for (auto& task : tasks) {
      const auto done = task.get();
      EXPECT_EQ(done.exit_code, 0) << done.output;
    }
  }
  ProcessResult with_every_work_dir(std::vector<std::string> flags, const char* bin) const {
    auto args = every_work_dir();
    args.insert(args.end(), flags.begin(), flags.end());
    return run_process(bin, args);
  }
  // Prepare, shards (through deploy/slurm's scripts with `via_slurm`), merged validation PASSED:
  // returns the pre-run live collection.
  CollectionInfo run_and_validate(StoreState& target_before, bool via_slurm) {
    const CollectionInfo live = target_with_foreign_records();
    target_before = state_of(target_uri());
    if (via_slurm) {
      slurm_prepare_and_array();
    } else {
      const auto prepared = prepare("replace");
      EXPECT_EQ(prepared.exit_code, 0) << prepared.output;
    }
    const auto record = read_json(prepared_dir() / "prepared.json");
    EXPECT_EQ(record["state"], "ready");
    EXPECT_EQ(record["staged"], true);
    EXPECT_EQ(record["collections"][0]["collection_id"], live.id);
    EXPECT_EQ(record["collections"][0]["action"], "replaced");
    EXPECT_EQ(record["collections"][0]["dropped_at"], "") << "a staged prepare drops nothing";
    if (!via_slurm) {
      EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "")
          << "a staged prepare only reads the target";
      all_shards_in_parallel("replace");
    }
    const auto after_shards = state_of(target_uri());
    EXPECT_EQ(after_shards.at(name_).info.id, live.id) << "the live name keeps serving";
    EXPECT_EQ(diff_text(as_live(target_before, name_), as_live(after_shards, name_), false), "");
    EXPECT_EQ(after_shards.at(staged()).count, source_.at(name_).count);

    const auto verdict = run_process(CHROMA_VALIDATE_BIN, every_work_dir());
    EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
    EXPECT_EQ(read_json(shard_dir(0) / "validation_report.json")["overall_status"], "PASSED");
    EXPECT_TRUE(
        fs::exists(shard_dir(0) / "shards-merged" / "snapshots" / "backup" / "manifest.json"));
    const auto validated = state_of(target_uri());
    EXPECT_EQ(validated.at(name_).info.id, live.id);
    EXPECT_EQ(diff_text(as_live(target_before, name_), as_live(validated, name_), false), "");

    return live;
  }
  ProcessResult cutover() const {
    return with_every_work_dir({"--cutover", "--no-final-sync"}, CHROMA_MIGRATE_BIN);
  }
  CollectionInfo run_until_cutover(StoreState& target_before, bool via_slurm = false) {
    const CollectionInfo live = run_and_validate(target_before, via_slurm);
    const auto cut = cutover();
    EXPECT_EQ(cut.exit_code, 0) << cut.output;
    return live;
  }
};

TEST_F(StagedPreparedShards, TheLiveCollectionServesUntilTheCutoverAndIsRetainedThenDropped) {
  StoreState target_before;
  const CollectionInfo live = run_until_cutover(target_before);
  ASSERT_FALSE(HasFailure());
  const auto cut = state_of(target_uri());
  EXPECT_EQ(diff_text(source_, live_names()), "") << "the live names hold the migrated data";
  EXPECT_NE(cut.at(name_).info.id, live.id);
  EXPECT_EQ(cut.count(staged()), 0u);
  ASSERT_EQ(cut.count(retained()), 1u);
  EXPECT_EQ(cut.at(retained()).info.id, live.id) << "the pre-run collection itself is retained";
  EXPECT_EQ(diff_text(as_live(target_before, name_), as_live(cut, retained()), false), "");
  const auto merged = read_json(shard_dir(0) / "shards-merged" / "run.json");
  EXPECT_EQ(merged["cutover"]["state"], "done") << merged["cutover"];

  const auto finalized = with_every_work_dir({"--finalize"}, CHROMA_MIGRATE_BIN);
  ASSERT_EQ(finalized.exit_code, 0) << finalized.output;
  const auto after = state_of(target_uri());
  EXPECT_EQ(after.count(retained()), 0u) << "dropped, pinned by id and content";
  EXPECT_EQ(after.count(quarantine_name_for(name_, kRunId)), 0u);
  EXPECT_EQ(diff_text(source_, live_names()), "");
  EXPECT_EQ(read_json(shard_dir(0) / "shards-merged" / "run.json")["cutover"]["state"],
            "finalized");
  // Running it again finds it done.
  const auto again = with_every_work_dir({"--finalize"}, CHROMA_MIGRATE_BIN);
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

TEST_F(StagedPreparedShards, ARollbackAfterTheCutoverRestoresThePreRunLiveCollection) {
  StoreState target_before;
  const CollectionInfo live = run_until_cutover(target_before, true);
  ASSERT_FALSE(HasFailure());
  const auto rolled = with_every_work_dir(
      {"--force", "--reason", "test: undo the staged prepared replace"}, CHROMA_ROLLBACK_BIN);
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  const auto after = state_of(target_uri());
  EXPECT_EQ(diff_text(target_before, after, false), "");
  EXPECT_EQ(after.at(name_).info.id, live.id) << "the retained collection renamed back";
  for (int i = 0; i < kShards; ++i) {
    EXPECT_NE(read_json(shard_dir(i) / "run.json")["rolled_back_at"], "") << i;
  }
}

// The live collection replaced between the shards and the cutover (another id: the backup does not
// hold it) is not retained: the cutover refuses, exit 9, nothing renamed. chroma-rollback then
// removes the staged collections, leaves the live name's other collection alone and reports that
// it is not the pre-run one (exit 6).
TEST_F(StagedPreparedShards, ALiveCollectionReplacedBeforeTheCutoverIsNotSwappedOut) {
  StoreState target_before;
  const CollectionInfo live = run_and_validate(target_before, false);
  ASSERT_FALSE(HasFailure());
  auto target = open(target_uri());
  ASSERT_TRUE(target->delete_collection(live.name));
  CollectionSpec spec{name_, {{"owner", std::string("someone else")}}, {}, {}};
  spec.hnsw.space = live.hnsw.space;
  ASSERT_TRUE(target->create_collection(spec));
  const auto before = state_of(target_uri());
  const auto refused = cutover();
  EXPECT_EQ(refused.exit_code, 9) << refused.output;
  EXPECT_NE(refused.output.find("is not the one the run backed up"), std::string::npos)
      << refused.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "") << "nothing renamed";

  // The rollback removes what the run made (archived first) and leaves the other collection under
  // the live name alone; it cannot verify the pre-run collection there, so it says so (exit 6).
  const auto rolled = with_every_work_dir(
      {"--force", "--reason", "test: the live collection changed hands"}, CHROMA_ROLLBACK_BIN);
  EXPECT_EQ(rolled.exit_code, 6) << rolled.output;
  EXPECT_NE(rolled.output.find("not the pre-run collection " + live.id), std::string::npos)
      << rolled.output;
  auto expected = before;
  for (const auto& [name, c] : source_) expected.erase(staging_name_for(name, kRunId));
  EXPECT_EQ(diff_text(expected, state_of(target_uri()), false), "");
}

TEST_F(StagedPreparedShards, MismatchedStagingAndStagedMergeAreRefusedBeforeAnyWrite) {
  const CollectionInfo live = target_with_foreign_records();
  const auto before = state_of(target_uri());
  // Staged + merge: a usage error for the prepare and for a shard, as for unsharded runs.
  const auto merge_prepare = prepare("merge");
  EXPECT_EQ(merge_prepare.exit_code, 2) << merge_prepare.output;
  EXPECT_NE(merge_prepare.output.find("--stage cannot be combined with --if-exists merge"),
            std::string::npos)
      << merge_prepare.output;
  EXPECT_FALSE(fs::exists(prepared_dir() / "prepared.json"));
  const auto merge_shard = shard(0, "merge");
  EXPECT_EQ(merge_shard.exit_code, 2) << merge_shard.output;
  EXPECT_NE(merge_shard.output.find("--stage cannot be combined with --if-exists merge"),
            std::string::npos)
      << merge_shard.output;
  EXPECT_FALSE(fs::exists(shard_dir(0) / "run.json"));

  // A staged prepare binds staged shards only: an unstaged shard is exit 3.
  ASSERT_EQ(prepare("replace").exit_code, 0);
  extra_flags_.clear();
  const auto unstaged = shard(0, "replace");
  EXPECT_EQ(unstaged.exit_code, 3) << unstaged.output;
  EXPECT_NE(unstaged.output.find("a staged run (--stage), this shard is not staged"),
            std::string::npos)
      << unstaged.output;
  EXPECT_FALSE(fs::exists(shard_dir(0) / "run.json"));
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");

  // The live collection replaced after the staged prepare (another id): a staged shard refuses
  // it before any write (exit 9); the cutover could not retain what the backup holds.
  extra_flags_ = {"--stage"};
  auto target = open(target_uri());
  ASSERT_TRUE(target->delete_collection(live.name));
  CollectionSpec spec{name_, {{"owner", std::string("someone else")}}, {}, {}};
  spec.hnsw.space = live.hnsw.space;
  ASSERT_TRUE(target->create_collection(spec));
  const auto replaced_before = state_of(target_uri());
  const auto refused = shard(1, "replace");
  EXPECT_EQ(refused.exit_code, 9) << refused.output;
  EXPECT_NE(refused.output.find("replaced after the prepare"), std::string::npos) << refused.output;
  EXPECT_EQ(diff_text(replaced_before, state_of(target_uri()), false), "");
}

}  // namespace
}  // namespace cm::testing
