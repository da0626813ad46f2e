// Sharded runs into live target collections (issue 15): chroma-migrate --prepare backs up every
// target collection the run merges into or replaces ONCE, before any shard starts, and the shards
// (--prepared DIR) agree on that one backup through its record. Against real Chroma servers:
//  - merge: three parallel shards upsert into a collection that holds foreign records; the merged
//    validation over the shards is PASSED, the foreign records are intact, and chroma-rollback over
//    the shards restores the pre-run target exactly (ids, content, collection metadata);
//  - a shard with --if-exists merge but no --prepared is refused (exit 2, naming --prepare), and
//    nothing is written;
//  - a collection replaced behind the prepare's back (another id) is refused by every shard
//    before any write (exit 9), and the collection is left as it is; a prepared dir of another run
//    id, shard count or configuration is exit 3, an edited record exit 7;
//  - replace: --prepare drops the backed-up collection once (pinned by id and content); the shards
//    create it afresh; validation PASSED; rollback restores the pre-run collection. A prepare
//    killed at its drop is finished by running it again; until then the shards refuse it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/prepared_shards_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

TEST_F(PreparedShards, MergeIntoALiveCollectionValidatesAndRollsBackAsOne) {
  const CollectionInfo live = target_with_foreign_records();
  const auto target_before = state_of(target_uri());

  // Without the prepared dir a shard may not merge: usage error naming the fix, nothing written.
  const auto unprepared = shard(0, "merge", false);
  EXPECT_EQ(unprepared.exit_code, 2) << unprepared.output;
  EXPECT_NE(unprepared.output.find("--prepare"), std::string::npos) << unprepared.output;
  EXPECT_FALSE(fs::exists(shard_dir(0)));
  // Nor may a shard use a prepared dir that does not hold a record.
  const auto missing = shard(0, "merge");
  EXPECT_NE(missing.exit_code, 0) << missing.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");

  const auto prepared = prepare("merge");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto record = read_json(prepared_dir() / "prepared.json");
  EXPECT_EQ(record["run_id"], kRunId);
  EXPECT_EQ(record["state"], "ready");
  ASSERT_EQ(record["collections"].size(), 1u);
  EXPECT_EQ(record["collections"][0]["name"], name_);
  EXPECT_EQ(record["collections"][0]["collection_id"], live.id);
  EXPECT_EQ(record["collections"][0]["record_count"], 23);
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "")
      << "a merge's prepare only reads the target";
  // Running it again finds it done.
  const auto again = prepare("merge");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already prepared"), std::string::npos) << again.output;

  all_shards_in_parallel("merge");
  for (int i = 0; i < kShards; ++i) {
    const auto run = read_json(shard_dir(i) / "run.json");
    EXPECT_EQ(run["prepared"], fs::absolute(prepared_dir()).string());
    EXPECT_FALSE(fs::exists(shard_dir(i) / "snapshots" / "backup")) << "one backup, not one each";
  }
  const auto after = state_of(target_uri());
  // A second prepare once the shards wrote is refused: its backup would not be the pre-run state.
  auto late_args = common_flags("merge");
  late_args.insert(late_args.end(),
                   {"--prepare", "--shards", "3", "--work-dir", (dir_ / "prepared-late").string()});
  const auto late = run_process(CHROMA_MIGRATE_BIN, late_args);
  EXPECT_EQ(late.exit_code, 9) << late.output;
  EXPECT_NE(late.output.find("its shards started already"), std::string::npos) << late.output;
  EXPECT_EQ(after.at(name_).count, source_.at(name_).count + 20);
  EXPECT_EQ(after.at(name_).info.id, live.id) << "merged in place";
  expect_foreign_records_kept(target_before, after);

  const auto verdict = run_process(CHROMA_VALIDATE_BIN, every_work_dir());
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  EXPECT_EQ(read_json(shard_dir(0) / "validation_report.json")["overall_status"], "PASSED");
  EXPECT_TRUE(
      fs::exists(shard_dir(0) / "shards-merged" / "snapshots" / "backup" / "manifest.json"));
  // The merged validation knows the pre-run ids from the prepared backup: the 20 foreign records
  // are retained, not records the run did not bring, and the union is what the collection should
  // hold.
  bool counted = false;
  const auto report = read_json(shard_dir(0) / "validation_report.json");  // outlives the loop
  for (const auto& t : report["tests"]) {
    if (t["name"] != "count_verification") continue;
    const auto& c = t["figures"]["collections"][name_];
    EXPECT_EQ(c["action"], "merged");
    EXPECT_EQ(c["expected"], source_.at(name_).count + 20) << c;
    EXPECT_EQ(c["actual"], source_.at(name_).count + 20) << c;
    EXPECT_EQ(c["unexpected"], 0) << c;
    EXPECT_EQ(c["missing"], 0) << c;
    counted = true;
  }
  EXPECT_TRUE(counted);

  auto args = every_work_dir();
  args.insert(args.end(), {"--force", "--reason", "test: undo the prepared merge"});
  const auto rolled = run_process(CHROMA_ROLLBACK_BIN, args);
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
}

TEST_F(PreparedShards, ACollectionReplacedBehindThePreparesBackIsRefusedBeforeAnyWrite) {
  const CollectionInfo live = target_with_foreign_records();
  ASSERT_EQ(prepare("merge").exit_code, 0);
  // Someone drops and re-creates the collection after the prepare: another id, not backed up.
  auto target = open(target_uri());
  ASSERT_TRUE(target->delete_collection(live.name));
  CollectionSpec spec{name_, {{"owner", std::string("someone else")}}, {}, {}};
  spec.hnsw.space = live.hnsw.space;
  auto other = target->create_collection(spec);
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE(target->upsert(
      *other, std::vector<Record>{{"theirs", std::vector<float>(16, 0.25f), "not backed up", {}}}));
  const auto before = state_of(target_uri());
  for (int i = 0; i < kShards; ++i) {
    const auto run = shard(i, "merge");
    EXPECT_EQ(run.exit_code, 9) << run.output;
    EXPECT_NE(run.output.find("replaced after the prepare"), std::string::npos) << run.output;
  }
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "") << "nothing was written";
}

// The record binds the shards: another run id or shard count is exit 3, an edited record exit 7,
// each before anything is written (no work dir, the target as it was).
TEST_F(PreparedShards, APreparedDirOfAnotherRunOrAnEditedOneIsRefused) {
  target_with_foreign_records();
  ASSERT_EQ(prepare("merge").exit_code, 0);
  const auto before = state_of(target_uri());
  auto with = [&](const std::string& option, const std::string& value) {
    auto args = common_flags("merge");
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == option) args[i + 1] = value;
    args.insert(args.end(),
                {"--work-dir", shard_dir(0).string(), "--prepared", prepared_dir().string()});
    if (option != "--shard") args.insert(args.end(), {"--shard", "0/3"});
    if (option == "--shard") args.insert(args.end(), {"--shard", value});
    return run_process(CHROMA_MIGRATE_BIN, args);
  };
  const auto other_run = with("--run-id", "otherrun");
  EXPECT_EQ(other_run.exit_code, 3) << other_run.output;
  EXPECT_NE(other_run.output.find("prepared for run preprun1"), std::string::npos)
      << other_run.output;
  const auto other_count = with("--shard", "0/2");
  EXPECT_EQ(other_count.exit_code, 3) << other_count.output;
  const auto other_batch = with("--batch-size", "50");
  EXPECT_EQ(other_batch.exit_code, 3) << other_batch.output;
  EXPECT_NE(other_batch.output.find("another configuration"), std::string::npos)
      << other_batch.output;

  const auto path = prepared_dir() / "prepared.json";
  auto text = *read_file(path);
  const auto at = text.find("\"record_count\": 23");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 19, "\"record_count\": 24");
  ASSERT_TRUE(write_file_atomic(path, text));
  const auto edited = shard(0, "merge");
  EXPECT_EQ(edited.exit_code, 7) << edited.output;
  EXPECT_NE(edited.output.find("checksum"), std::string::npos) << edited.output;

  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

TEST_F(PreparedShards, ReplaceDropsOnceInThePrepareAndTheShardsCreateAfresh) {
  const CollectionInfo live = target_with_foreign_records();
  const auto target_before = state_of(target_uri());
  const auto prepared = prepare("replace");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  const auto record = read_json(prepared_dir() / "prepared.json");
  ASSERT_EQ(record["collections"].size(), 1u);
  EXPECT_EQ(record["collections"][0]["action"], "replaced");
  EXPECT_NE(record["collections"][0]["dropped_at"], "");
  EXPECT_EQ(state_of(target_uri()).count(name_), 0u) << "dropped once, by the prepare";

  all_shards_in_parallel("replace");
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
  EXPECT_NE(state_of(target_uri()).at(name_).info.id, live.id);

  const auto verdict = run_process(CHROMA_VALIDATE_BIN, every_work_dir());
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;

  auto args = every_work_dir();
  args.insert(args.end(), {"--force", "--reason", "test: undo the prepared replace"});
  const auto rolled = run_process(CHROMA_ROLLBACK_BIN, args);
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(target_before, state_of(target_uri()), false), "");
}

// A prepare killed at its drop (after the backup and the record, state backed_up) is not usable by
// the shards (exit 3, nothing written); running it again finishes the pinned drop, found under its
// quarantine name, and the record becomes ready.
TEST_F(PreparedShards, AnInterruptedReplacePrepareIsFinishedByRunningItAgain) {
  target_with_foreign_records();
  const auto killed =
      prepare("replace", {{"CHROMA_MIGRATE_FAULTS", "target.delete_collection=crash@1"}});
  ASSERT_TRUE(killed.signaled) << killed.output;
  EXPECT_EQ(read_json(prepared_dir() / "prepared.json")["state"], "backed_up");
  const auto early = shard(0, "replace");
  EXPECT_EQ(early.exit_code, 3) << early.output;
  EXPECT_NE(early.output.find("did not finish"), std::string::npos) << early.output;

  const auto finished = prepare("replace");
  ASSERT_EQ(finished.exit_code, 0) << finished.output;
  const auto record = read_json(prepared_dir() / "prepared.json");
  EXPECT_EQ(record["state"], "ready");
  EXPECT_NE(record["collections"][0]["dropped_at"], "");
  const auto target = state_of(target_uri());
  EXPECT_EQ(target.count(name_), 0u);
  EXPECT_EQ(target.count(record["collections"][0]["quarantine_name"].get<std::string>()), 0u);
  all_shards_in_parallel("replace");
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
}

// --prepare's own flags: usage errors (exit 2) that write nothing, on the target or on disk.
TEST_F(PreparedShards, BadPrepareFlagsAreUsageErrorsThatWriteNothing) {
  target_with_foreign_records();
  const auto before = state_of(target_uri());
  struct Case {
    std::vector<std::string> flags;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"--if-exists", "merge", "--prepare"}, "--prepare takes --shards N"},
      {{"--if-exists", "merge", "--prepare", "--shard", "0/3"}, "--prepare takes --shards N"},
      {{"--if-exists", "fail", "--prepare", "--shards", "3"}, "--prepare is for --if-exists"},
      {{"--if-exists", "merge", "--prepare", "--shards", "3", "--stage"}, "--stage"},
      {{"--if-exists", "merge", "--prepare", "--shards", "3", "--prepared", "x"},
       "--prepare takes --shards N"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {
        "--source", source_uri(), "--target",   target_uri(),
        "--run-id", kRunId,       "--work-dir", prepared_dir().string()};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const auto run = run_process(CHROMA_MIGRATE_BIN, args);
    EXPECT_EQ(run.exit_code, 2) << c.says << "\n" << run.output;
    EXPECT_NE(run.output.find(c.says), std::string::npos) << run.output;
    EXPECT_FALSE(fs::exists(prepared_dir() / "prepared.json")) << c.says;
  }
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

}  // namespace
}  // namespace cm::testing
