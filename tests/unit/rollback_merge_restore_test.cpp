// Rolling back a merge in place, by record (rollback/merge_restore.hpp): the planner keeps a
// merged collection instead of dropping it, the verdict table, and the whole step against a
// memory target with real backup and import snapshots, including a failure mid-way and the re-run.
#include "rollback/merge_restore.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/snapshot/snapshot_store.hpp"
#include "rollback/plan.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm::rollback {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::MemoryStore;

constexpr const char* kRun = "run-1";

Record rec(const std::string& id, float x, const std::string& doc, Metadata md = {}) {
  return {id, {x, 1.0f}, doc, std::move(md)};
}

RunManifest merged_manifest() {
  json j = {{"format_version", 1},
            {"run_id", kRun},
            {"source", "http://source:8000"},
            {"target", "memory:target"},
            {"config", json::object()},
            {"source_collections", json::array()},
            {"import_snapshot", "snapshots/source"},
            {"target_collections", json::array({{{"name", "docs"},
                                                 {"action", "merged"},
                                                 {"state", "verified"},
                                                 {"source_collections", json::array({"docs"})},
                                                 {"expected_records", 6},
                                                 {"staging_name", ""},
                                                 {"disrupted_at", "T1"}}})}};
  auto m = run_manifest_from_json(j);
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : RunManifest{};
}

TEST(MergeVerdictTest, TheTableOfMergeRestoreHpp) {
  const auto b = rec("x", 1, "before"), r = rec("x", 2, "run"), o = rec("x", 3, "other");
  using V = MergeVerdict;
  EXPECT_EQ(classify_merged_record("l2", &b, &r, &r), V::kRestore);
  EXPECT_EQ(classify_merged_record("l2", &b, &r, nullptr), V::kRestore);
  EXPECT_EQ(classify_merged_record("l2", &b, &r, &b), V::kDone);
  EXPECT_EQ(classify_merged_record("l2", &b, &r, &o), V::kKeptChanged);
  EXPECT_EQ(classify_merged_record("l2", &b, &r, &o, true), V::kRestore);  // journalled
  EXPECT_EQ(classify_merged_record("l2", nullptr, &r, &r), V::kDeleteAdded);
  EXPECT_EQ(classify_merged_record("l2", nullptr, &r, nullptr), V::kDone);
  EXPECT_EQ(classify_merged_record("l2", nullptr, &r, &o), V::kKeptChanged);
  EXPECT_EQ(classify_merged_record("l2", &b, nullptr, &b), V::kDone);
  EXPECT_EQ(classify_merged_record("l2", &b, nullptr, &o), V::kOthersChanged);
  EXPECT_EQ(classify_merged_record("l2", &b, nullptr, nullptr), V::kOthersChanged);
  // A stale metadata key (what Chroma's upsert leaves) is not the backup version.
  auto stale = b;
  stale.metadata["run_key"] = std::string("v");
  EXPECT_FALSE(same_content("l2", b, stale));
}

class MergeRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("merge-restore");
    Metadata pre_md{{"owner", std::string("team")}};
    // The backup: b-0..b-3 as they were before the run.
    {
      auto snap = SnapshotStore::open(dir_ / "snapshots" / "backup", SnapshotStore::Mode::kWrite);
      ASSERT_TRUE(snap) << snap.error().message;
      CollectionInfo c;
      c.name = "docs";
      c.id = "pre";
      c.metadata = pre_md;
      auto info = (*snap)->create_collection_from(c);
      ASSERT_TRUE(info);
      for (int i = 0; i < 4; ++i)
        backup_records_.push_back(rec("b-" + std::to_string(i), static_cast<float>(i), "old"));
      ASSERT_TRUE((*snap)->upsert(*info, backup_records_));
      ASSERT_TRUE((*snap)->flush());
    }
    // What the run wrote: b-0 and b-1 overwritten, n-0 and n-1 added.
    {
      auto snap = SnapshotStore::open(dir_ / "snapshots" / "source", SnapshotStore::Mode::kWrite);
      ASSERT_TRUE(snap) << snap.error().message;
      CollectionInfo c;
      c.name = "docs";
      auto info = (*snap)->create_collection_from(c);
      ASSERT_TRUE(info);
      import_records_ = {rec("b-0", 10, "new", {{"run_key", std::int64_t{1}}}),
                         rec("b-1", 11, "new"), rec("n-0", 20, "new"), rec("n-1", 21, "new")};
      ASSERT_TRUE((*snap)->upsert(*info, import_records_));
      ASSERT_TRUE((*snap)->flush());
    }
    // The target after the merge, then others' writes: app-0 (new), n-1 and b-1 rewritten,
    // b-3 (never written by the run) changed.
    Metadata ours = pre_md;
    ours[kLedgerRunId] = std::string(kRun);
    auto docs = target_.create_collection({"docs", ours, {}, {}});
    ASSERT_TRUE(docs);
    docs_ = *docs;
    std::vector<Record> now = {import_records_[0], import_records_[1], backup_records_[2],
                               backup_records_[3], import_records_[2], import_records_[3]};
    ASSERT_TRUE(target_.upsert(docs_, now));
    std::vector<Record> others = {rec("app-0", 5, "app"), rec("n-1", 30, "app"),
                                  rec("b-1", 31, "app"), rec("b-3", 33, "app")};
    ASSERT_TRUE(target_.upsert(docs_, others));
    target_.reset_calls();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<std::unique_ptr<JournalStore>> planned() {
    auto backup = SnapshotStore::open(dir_ / "snapshots" / "backup", SnapshotStore::Mode::kRead);
    if (!backup) return std::unexpected(backup.error());
    auto manifest = (*backup)->manifest();
    CM_ASSIGN_OR_RETURN(Journal j, plan_rollback(target_, merged_manifest(), &*manifest));
    return JournalStore::create(dir_ / "rollback.json", std::move(j));
  }
  Status run(JournalStore& journal) {
    CM_ASSIGN_OR_RETURN(auto backup, SnapshotStore::open(dir_ / "snapshots" / "backup",
                                                         SnapshotStore::Mode::kRead));
    CM_ASSIGN_OR_RETURN(auto import, SnapshotStore::open(dir_ / "snapshots" / "source",
                                                         SnapshotStore::Mode::kRead));
    RollbackOptions o;
    ExecContext ctx{o, WorkDir(dir_), target_, backup.get(), journal, 2, import.get()};
    return restore_merged_in_place(ctx);
  }
  Record now(const std::string& id) {
    std::vector<std::string> ids{id};
    auto got = target_.get_records(docs_, ids);
    EXPECT_TRUE(got);
    return got && got->size() == 1 ? (*got)[0] : Record{};
  }

  fs::path dir_;
  MemoryStore target_{"target"};
  CollectionInfo docs_;
  std::vector<Record> backup_records_, import_records_;
};

TEST_F(MergeRestoreTest, ThePlanKeepsTheMergedCollectionInsteadOfDroppingIt) {
  auto journal = planned();
  ASSERT_TRUE(journal) << journal.error().message;
  const Journal j = (*journal)->get();
  EXPECT_TRUE(j.archive.empty());   // nothing dropped
  EXPECT_TRUE(j.restores.empty());  // nothing recreated
  EXPECT_TRUE(j.equal_to_backup.empty());
  ASSERT_EQ(j.merges.size(), 1u);
  EXPECT_EQ(j.merges[0].name, "docs");
  EXPECT_EQ(j.merges[0].collection_id, docs_.id);
  EXPECT_EQ(j.merges[0].backup_records, 4u);
  EXPECT_EQ(target_.writes(), 0u);
}

TEST_F(MergeRestoreTest, RestoresByRecordKeepsOthersWritesAndTheCollectionAndResumes) {
  auto journal = planned();
  ASSERT_TRUE(journal) << journal.error().message;
  // The first put-back upsert fails: its ids are journalled, the part is not done.
  target_.fail("upsert", Error{ErrorCode::kRejected, "refused"}, 1, 1);
  auto failed = run(**journal);
  ASSERT_FALSE(failed);
  EXPECT_FALSE((*journal)->get().merges[0].restoring.empty());
  EXPECT_EQ((*journal)->get().merges[0].state, MergeRestoreState::kPending);
  target_.clear_failures();
  auto done = run(**journal);
  ASSERT_TRUE(done) << done.error().message;

  const MergeItem m = (*journal)->get().merges[0];
  EXPECT_EQ(m.state, MergeRestoreState::kRestored);
  EXPECT_TRUE(m.restoring.empty());
  EXPECT_EQ(m.restored, 1u);       // b-0
  EXPECT_GE(m.deleted_added, 1u);  // n-0 (the failed invocation may have deleted it already)
  EXPECT_EQ(m.foreign.count, 1u);
  EXPECT_EQ(m.foreign.ids, std::vector<std::string>{"app-0"});
  EXPECT_EQ(m.kept_changed.count, 2u);  // b-1 and n-1, rewritten by others
  EXPECT_EQ(m.others_changed.count, 1u);
  EXPECT_EQ(m.others_changed.ids, std::vector<std::string>{"b-3"});

  auto docs = target_.find_collection("docs");
  ASSERT_TRUE(docs && *docs);
  EXPECT_EQ((*docs)->id, docs_.id);                                          // the same collection
  EXPECT_EQ((*docs)->metadata, (Metadata{{"owner", std::string("team")}}));  // ledger key gone
  EXPECT_EQ(now("b-0"), backup_records_[0]);
  EXPECT_EQ(now("b-1").document, "app");
  EXPECT_EQ(now("b-2"), backup_records_[2]);
  EXPECT_EQ(now("b-3").document, "app");
  EXPECT_EQ(now("n-1").document, "app");
  EXPECT_EQ(now("app-0").document, "app");
  auto count = target_.count(docs_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 6u);  // b-0..b-3, n-1, app-0: n-0 is gone

  auto backup = SnapshotStore::open(dir_ / "snapshots" / "backup", SnapshotStore::Mode::kRead);
  auto import = SnapshotStore::open(dir_ / "snapshots" / "source", SnapshotStore::Mode::kRead);
  ASSERT_TRUE(backup && import);
  auto check = verify_merged(m, target_, backup->get(), import->get(), 2);
  ASSERT_TRUE(check) << check.error().message;
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->records_compared, 4u);
  // A record the run added, put back as the run wrote it, fails the verification.
  ASSERT_TRUE(target_.upsert(docs_, std::vector<Record>{import_records_[2]}));
  check = verify_merged(m, target_, backup->get(), import->get(), 2);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->mismatches, 1u);
}

}  // namespace
}  // namespace cm::rollback
