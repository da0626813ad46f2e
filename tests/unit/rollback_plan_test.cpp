// The rollback planner (rollback/plan.hpp) against a memory target: from run.json's ledger and
// cutover journal plus what the target holds, it picks path A/B/C per collection and lists the
// renames to undo, what to archive and drop, what to restore from the backup, and what must hold
// afterwards; it refuses to touch a collection that is not the run's, and it never writes.
//
// run.json and the plan are handled as their JSON documents (run_manifest_from_json,
// journal_to_json), so the assertions do not depend on how states are typed in C++.
#include "rollback/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/snapshot/snapshot_store.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm::rollback {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::MemoryStore;

constexpr const char* kRun = "run-1";

json entry(const std::string& name, const std::string& action, const std::string& state,
           const std::string& staging = "", const std::string& disrupted = "") {
  return {{"name", name},
          {"action", action},
          {"state", state},
          {"source_collections", json::array({name})},
          {"expected_records", 5},
          {"staging_name", staging},
          {"disrupted_at", disrupted}};
}

RunManifest manifest(json entries, json cutover = json::object()) {
  json j = {{"format_version", 1},
            {"run_id", kRun},
            {"source", "http://source:8000"},
            {"target", "memory:target"},
            {"config", json::object()},
            {"source_collections", json::array()},
            {"target_collections", std::move(entries)},
            {"staged", !cutover.empty()},
            {"cutover", std::move(cutover)}};
  auto m = run_manifest_from_json(j);
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : RunManifest{};
}

json step(const std::string& id, const std::string& from, const std::string& to,
          const std::string& state, const std::string& done_at = "") {
  return {
      {"collection_id", id}, {"from", from}, {"to", to}, {"state", state}, {"done_at", done_at}};
}

std::vector<std::string> names_of(const json& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.at("name").get<std::string>());
  return out;
}

std::vector<std::string> strings(const json& list) {
  return list.get<std::vector<std::string>>();
}

class RollbackPlanTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("rollback-plan"); }
  void TearDown() override { fs::remove_all(dir_); }

  // A collection in the target; `ours` gives it the run's ledger key.
  CollectionInfo add(const std::string& name, bool ours, std::size_t records = 3) {
    Metadata md{{"owner", std::string("team")}};
    if (ours) md[kLedgerRunId] = std::string(kRun);
    auto info = target_.create_collection({name, md, {}, {}});
    EXPECT_TRUE(info) << info.error().message;
    std::vector<Record> rs;
    for (std::size_t i = 0; i < records; ++i)
      rs.push_back({name + "-" + std::to_string(i), {float(i), 1.0f}, std::nullopt, {}});
    if (records > 0) {
      EXPECT_TRUE(target_.upsert(*info, rs));
    }
    return *info;
  }
  // A sealed backup snapshot holding `collections` (with their ids) and `records` records each.
  void backup(const std::vector<CollectionInfo>& collections, std::size_t records = 4) {
    auto snap = SnapshotStore::open(dir_ / "backup", SnapshotStore::Mode::kWrite);
    ASSERT_TRUE(snap) << snap.error().message;
    for (const auto& c : collections) {
      auto copy = (*snap)->create_collection_from(c);
      ASSERT_TRUE(copy) << copy.error().message;
      std::vector<Record> rs;
      for (std::size_t i = 0; i < records; ++i)
        rs.push_back({"b-" + std::to_string(i), {float(i), 2.0f}, std::nullopt, {}});
      ASSERT_TRUE((*snap)->upsert(*copy, rs));
    }
    ASSERT_TRUE((*snap)->flush());
    backup_ = (*snap)->manifest();
    ASSERT_TRUE(backup_);
  }
  // Plans, checks that planning only looked, and returns the plan as rollback.json would hold it.
  Result<json> plan(const RunManifest& m) {
    target_.reset_calls();
    auto journal = plan_rollback(target_, m, backup_ ? &*backup_ : nullptr);
    EXPECT_EQ(target_.writes(), 0u) << "the planner changed the target";
    EXPECT_EQ(target_.calls("count") + target_.calls("get_records") + target_.calls("list_ids") +
                  target_.calls("query"),
              0u)
        << "the planner read more than collection descriptions";
    if (!journal) return std::unexpected(journal.error());
    return journal_to_json(*journal);
  }

  fs::path dir_;
  MemoryStore target_{"target"};
  decltype(std::declval<SnapshotStore&>().manifest()) backup_;
};

// --- in place (path C) ---

TEST_F(RollbackPlanTest, InPlaceCreatedCollectionIsArchivedAndDropped) {
  auto docs = add("docs", true);
  auto j = plan(manifest(json::array({entry("docs", "created", "verified", "", "T1")})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["run_id"], kRun);
  EXPECT_EQ(strings((*j)["paths"]), std::vector<std::string>{"C"});
  ASSERT_EQ((*j)["archive"].size(), 1u);
  const auto& a = (*j)["archive"][0];
  EXPECT_EQ(a["name"], "docs");
  EXPECT_EQ(a["collection_id"], docs.id);
  EXPECT_EQ(a["live_name"], "docs");
  EXPECT_EQ(a["restores_live"], true);  // dropping it gives the name back
  EXPECT_EQ(a["state"], "pending");
  EXPECT_EQ((*j)["archive_state"], "pending");
  EXPECT_TRUE((*j)["restores"].empty());
  EXPECT_TRUE((*j)["renames"].empty());
  EXPECT_EQ(strings((*j)["must_be_gone"]), std::vector<std::string>{"docs"});
  ASSERT_EQ((*j)["live"].size(), 1u);
  EXPECT_EQ((*j)["live"][0]["path"], "C");
  EXPECT_EQ((*j)["live"][0]["disrupted_at"], "T1");
}

// A shard's ledger records the server id of the collection it created or adopted: a collection
// under that name with the run's ledger key but another id (re-created meanwhile) is not dropped.
TEST_F(RollbackPlanTest, CreatedCollectionWithAnotherIdThanTheShardsRecordedIsRefused) {
  auto docs = add("docs", true);
  auto recorded = entry("docs", "created", "created", "", "T1");
  recorded["collection_id"] = "some-other-id";
  auto refused = plan(manifest(json::array({recorded})));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find(docs.id), std::string::npos) << refused.error().message;
  recorded["collection_id"] = docs.id;
  auto j = plan(manifest(json::array({recorded})));
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_EQ((*j)["archive"].size(), 1u);
  EXPECT_EQ((*j)["archive"][0]["collection_id"], docs.id);
}

TEST_F(RollbackPlanTest, InPlaceReplacedCollectionIsArchivedDroppedAndRestoredFromTheBackup) {
  CollectionInfo pre_run;
  pre_run.name = "docs";
  pre_run.id = "pre-run-id";
  pre_run.metadata = {{"owner", std::string("team")}};
  backup({pre_run}, 6);
  auto docs = add("docs", true);  // the run's replacement
  auto j = plan(manifest(json::array({entry("docs", "replaced", "verified", "", "T1")})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(strings((*j)["paths"]), std::vector<std::string>{"C"});
  ASSERT_EQ((*j)["archive"].size(), 1u);
  EXPECT_EQ((*j)["archive"][0]["collection_id"], docs.id);
  EXPECT_EQ((*j)["archive"][0]["restores_live"], false);
  ASSERT_EQ((*j)["restores"].size(), 1u);
  EXPECT_EQ((*j)["restores"][0]["name"], "docs");
  EXPECT_EQ((*j)["restores"][0]["records"], 6);
  EXPECT_EQ((*j)["restores"][0]["parts"], 1);
  EXPECT_EQ((*j)["restores"][0]["state"], "pending");
  EXPECT_EQ(strings((*j)["equal_to_backup"]), std::vector<std::string>{"docs"});
  EXPECT_TRUE((*j)["must_be_gone"].empty());
}

TEST_F(RollbackPlanTest, AReplacedCollectionTheRunDroppedIsOnlyRestored) {
  CollectionInfo pre_run;
  pre_run.name = "docs";
  pre_run.id = "pre-run-id";
  backup({pre_run});
  auto j = plan(manifest(json::array({entry("docs", "replaced", "creating", "", "T1")})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_TRUE((*j)["archive"].empty());
  EXPECT_EQ((*j)["archive_state"], "");
  EXPECT_EQ(names_of((*j)["restores"]), std::vector<std::string>{"docs"});
  EXPECT_EQ((*j)["live"][0]["path"], "C");
}

TEST_F(RollbackPlanTest, APreRunCollectionTheRunNeverWroteIsLeftUntouched) {
  auto pre_run = add("docs", false);
  backup({pre_run});
  auto j = plan(manifest(json::array({entry("docs", "merged", "planned")})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_TRUE((*j)["paths"].empty());
  EXPECT_TRUE((*j)["archive"].empty());
  EXPECT_TRUE((*j)["restores"].empty());
  EXPECT_EQ((*j)["live"][0]["path"], "untouched");
  EXPECT_EQ(strings((*j)["untouched"]), std::vector<std::string>{"docs"});
}

TEST_F(RollbackPlanTest, PlannedEntriesThatWereNeverCreatedAreSkipped) {
  add("docs", false);  // someone else's collection under the planned name
  auto j = plan(manifest(
      json::array({entry("docs", "created", "planned"), entry("fresh", "created", "planned")})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_TRUE((*j)["paths"].empty());
  EXPECT_TRUE((*j)["archive"].empty());
  EXPECT_TRUE((*j)["must_be_gone"].empty());
  ASSERT_EQ((*j)["live"].size(), 2u);
  EXPECT_EQ((*j)["live"][0]["path"], "skipped");
  EXPECT_EQ((*j)["live"][1]["path"], "skipped");
}

TEST_F(RollbackPlanTest, ACollectionThatIsNotTheRunsIsAConflictAndNothingIsPlanned) {
  auto other = add("docs", false);
  auto j = plan(manifest(json::array({entry("docs", "created", "verified", "", "T1")})));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(j.error().message.find("is not this run's"), std::string::npos) << j.error().message;
  EXPECT_NE(j.error().message.find(other.id), std::string::npos);
  EXPECT_NE(j.error().message.find("planning the rollback of 'docs'"), std::string::npos);
}

TEST_F(RollbackPlanTest, ARestoreTheBackupCannotServeIsRefused) {
  CollectionInfo unrelated;
  unrelated.name = "other";
  backup({unrelated});
  add("docs", true);
  auto j = plan(manifest(json::array({entry("docs", "replaced", "verified", "", "T1")})));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, ErrorCode::kCorruption);
  EXPECT_NE(j.error().message.find("backup snapshot does not hold it"), std::string::npos);
}

// --- staged, never cut over (path B) ---

TEST_F(RollbackPlanTest, StagedNeverCutOverDropsOnlyTheStagingCollection) {
  auto live = add("docs", false);
  backup({live});
  const auto staging = staging_name_for("docs", kRun);
  auto staged = add(staging, true);
  auto j = plan(manifest(json::array({entry("docs", "replaced", "verified", staging)})));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(strings((*j)["paths"]), std::vector<std::string>{"B"});
  ASSERT_EQ((*j)["archive"].size(), 1u);
  EXPECT_EQ((*j)["archive"][0]["name"], staging);
  EXPECT_EQ((*j)["archive"][0]["collection_id"], staged.id);
  EXPECT_EQ((*j)["archive"][0]["live_name"], "docs");
  EXPECT_EQ(strings((*j)["must_be_gone"]), std::vector<std::string>{staging});
  EXPECT_EQ(strings((*j)["untouched"]), std::vector<std::string>{"docs"});
  EXPECT_TRUE((*j)["restores"].empty());
  EXPECT_TRUE((*j)["renames"].empty());
  EXPECT_EQ((*j)["live"][0]["disrupted_at"], "");
}

// --- staged and cut over (path A), finalized (path C) ---

class CutoverPlanTest : public RollbackPlanTest {
 protected:
  // The state after a staged run replaced "docs" and its cutover ran: the pre-run collection
  // renamed to its retained name, the staging collection renamed to "docs".
  void SetUp() override {
    RollbackPlanTest::SetUp();
    pre_run_ = add("docs", false);
    backup({pre_run_});
    staged_ = add(staging_, true);
    ASSERT_TRUE(target_.rename_collection(pre_run_, retained_));
    ASSERT_TRUE(target_.rename_collection(staged_, "docs"));
  }
  RunManifest cut_over(const std::string& state, const std::string& swap_state = "done") {
    json cutover = {{"state", state},
                    {"started_at", "T0"},
                    {"steps", json::array({step(pre_run_.id, "docs", retained_, "done", "T1"),
                                           step(staged_.id, staging_, "docs", swap_state,
                                                swap_state == "done" ? "T2" : "")})},
                    {"retained", json::array({retained_})}};
    return manifest(json::array({entry("docs", "replaced", "verified", staging_, "T1")}), cutover);
  }
  const std::string staging_ = staging_name_for("docs", kRun);
  const std::string retained_ = retained_name_for("docs", kRun);
  CollectionInfo pre_run_, staged_;
};

TEST_F(CutoverPlanTest, ADoneCutoverIsUndoneInReverseOrderThenTheStagedCopyArchived) {
  auto j = plan(cut_over("done"));
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(strings((*j)["paths"]), std::vector<std::string>{"A"});
  const auto& renames = (*j)["renames"];
  ASSERT_EQ(renames.size(), 2u);
  // First the swap: the run's collection goes back to its staging name...
  EXPECT_EQ(renames[0]["collection_id"], staged_.id);
  EXPECT_EQ(renames[0]["from"], "docs");
  EXPECT_EQ(renames[0]["to"], staging_);
  EXPECT_EQ(renames[0]["restores_live"], false);
  EXPECT_EQ(renames[0]["journalled_done"], true);
  EXPECT_EQ(renames[0]["state"], "planned");
  // ... then the retained pre-run collection gets its live name back.
  EXPECT_EQ(renames[1]["collection_id"], pre_run_.id);
  EXPECT_EQ(renames[1]["from"], retained_);
  EXPECT_EQ(renames[1]["to"], "docs");
  EXPECT_EQ(renames[1]["live_name"], "docs");
  EXPECT_EQ(renames[1]["restores_live"], true);
  // The staged copy is archived under the name it will have by then.
  ASSERT_EQ((*j)["archive"].size(), 1u);
  EXPECT_EQ((*j)["archive"][0]["name"], staging_);
  EXPECT_EQ((*j)["archive"][0]["collection_id"], staged_.id);
  EXPECT_TRUE((*j)["restores"].empty());  // the retained copy is the pre-run state
  EXPECT_EQ(strings((*j)["equal_to_backup"]), std::vector<std::string>{"docs"});
  auto gone = strings((*j)["must_be_gone"]);
  std::sort(gone.begin(), gone.end());
  std::vector<std::string> want{staging_, retained_};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(gone, want);
  EXPECT_EQ((*j)["live"][0]["path"], "A");
  EXPECT_EQ((*j)["live"][0]["disrupted_at"], "T1");
}

TEST_F(CutoverPlanTest, ARenameThatNeverLandedIsNotUndone) {
  // Crash between the two renames: the swap is journalled but did not happen.
  ASSERT_TRUE(target_.rename_collection(staged_, staging_));
  auto j = plan(cut_over("swapping", "planned"));
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_EQ((*j)["renames"].size(), 1u);
  EXPECT_EQ((*j)["renames"][0]["collection_id"], pre_run_.id);
  EXPECT_EQ((*j)["renames"][0]["to"], "docs");
  EXPECT_EQ(names_of((*j)["archive"]), std::vector<std::string>{staging_});
}

TEST_F(CutoverPlanTest, ACollectionMissingUnderBothNamesStopsThePlan) {
  ASSERT_TRUE(target_.rename_collection(staged_, "elsewhere"));
  auto j = plan(cut_over("done"));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, ErrorCode::kVerifyFailed);
  EXPECT_NE(j.error().message.find("neither name holds it"), std::string::npos)
      << j.error().message;
}

TEST_F(CutoverPlanTest, AFinalizedCutoverRestoresTheLiveNameFromTheBackup) {
  ASSERT_TRUE(target_.delete_collection(retained_));  // finalize dropped the retained copy
  auto m = cut_over("finalized");
  auto j = plan(m);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(strings((*j)["paths"]), std::vector<std::string>{"C"});
  EXPECT_TRUE((*j)["renames"].empty());
  ASSERT_EQ((*j)["archive"].size(), 1u);
  EXPECT_EQ((*j)["archive"][0]["name"], "docs");  // the staged copy, now live
  EXPECT_EQ((*j)["archive"][0]["collection_id"], staged_.id);
  EXPECT_EQ(names_of((*j)["restores"]), std::vector<std::string>{"docs"});
  EXPECT_EQ(strings((*j)["equal_to_backup"]), std::vector<std::string>{"docs"});
}

TEST(BackupRequiredTest, OnlyWhenAnEntryMayNeedThePreRunData) {
  EXPECT_FALSE(backup_required(manifest(json::array({entry("a", "created", "verified")}))));
  EXPECT_FALSE(backup_required(manifest(json::array({entry("a", "replaced", "planned")}))));
  EXPECT_TRUE(backup_required(manifest(json::array({entry("a", "replaced", "planned", "", "T")}))));
  EXPECT_TRUE(backup_required(manifest(json::array({entry("a", "merged", "imported")}))));
  EXPECT_TRUE(backup_required(manifest(json::array({entry("a", "created", "verified", "a.s")}),
                                       {{"state", "done"}, {"retained", json::array({"x"})}})));
}

}  // namespace
}  // namespace cm::rollback
