// The run.json additions for staged runs (staging names, the cutover journal, rolled_back_at), the
// naming rule, data_location(), and the crash-tolerant rename the cutover and rollback share.
#include <gtest/gtest.h>

#include <regex>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/run/collection_rename.hpp"
#include "common/run/run_manifest.hpp"
#include "tests/unit/snapshot_test_util.hpp"

namespace cm {
namespace {

using namespace snapshot_test;  // NOLINT: test helpers

RunManifest staged_manifest() {
  RunManifest m;
  m.run_id = "20261122T080000Z-ab12";
  m.source = "http://old:8000";
  m.target = "http://new:8000";
  m.staged = true;
  m.target_collections.push_back({"kb",
                                  LedgerAction::kReplaced,
                                  LedgerState::kVerified,
                                  {"kb_old"},
                                  10,
                                  staging_name_for("kb", m.run_id),
                                  ""});
  m.target_collections.push_back({"faq",
                                  LedgerAction::kCreated,
                                  LedgerState::kVerified,
                                  {"faq"},
                                  5,
                                  staging_name_for("faq", m.run_id),
                                  ""});
  return m;
}

TEST(RunLedgerTest, TimestampsCarryMillisecondsBecauseDowntimeIsComputedFromThem) {
  const std::string stamp = now_iso8601();
  EXPECT_TRUE(std::regex_match(stamp, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << stamp;
}

TEST(RunLedgerTest, NamingRuleKeepsValidChromaNames) {
  EXPECT_EQ(staging_name_for("kb", "r1"), "kb.staged-r1");
  EXPECT_EQ(retained_name_for("kb", "r1"), "kb.retained-r1");
  EXPECT_FALSE(invalid_collection_name_reason(staging_name_for("kb", "20261122T080000Z-ab12")));
  EXPECT_FALSE(invalid_collection_name_reason(retained_name_for("a_b-c", "x.y_z")));
}

TEST(RunLedgerTest, DataLocationFollowsTheCutoverJournal) {
  auto m = staged_manifest();
  const auto& kb = m.target_collections[0];
  EXPECT_EQ(m.data_location(kb), kb.staging_name);
  m.cutover.state = CutoverState::kSwapping;
  m.cutover.steps = {{"id-live", "kb", retained_name_for("kb", m.run_id), RenameState::kDone, "t1"},
                     {"id-staged", kb.staging_name, "kb", RenameState::kPlanned, ""}};
  EXPECT_EQ(m.data_location(kb), kb.staging_name);  // the swap-in has not landed
  m.cutover.steps[1].state = RenameState::kDone;
  EXPECT_EQ(m.data_location(kb), "kb");
  EXPECT_EQ(m.data_location(m.target_collections[1]), m.target_collections[1].staging_name);
  RunManifest in_place;
  in_place.target_collections.push_back(
      {"x", LedgerAction::kCreated, LedgerState::kImported, {}, 1, "", ""});
  EXPECT_EQ(in_place.data_location(in_place.target_collections[0]), "x");
  // find_target answers to both names of an entry.
  EXPECT_EQ(m.find_target(kb.staging_name), &m.target_collections[0]);
  EXPECT_EQ(m.find_target("kb"), &m.target_collections[0]);
  EXPECT_EQ(m.find_target("nope"), nullptr);
}

TEST(RunLedgerTest, StagedFieldsSurviveTheJsonRoundTrip) {
  auto m = staged_manifest();
  m.target_collections[0].disrupted_at = "2026-11-22T08:00:01Z";
  m.cutover = {CutoverState::kDone,
               "/w/validation_report.json",
               ReportStatus::kPassed,
               "t0",
               "t2",
               "",
               {{"id-live", "kb", "kb.retained-x", RenameState::kDone, "t1"}},
               {"kb.retained-x"}};
  m.rolled_back_at = "2026-11-22T09:00:00Z";
  auto back = run_manifest_from_json(run_manifest_to_json(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->target_collections, m.target_collections);
  EXPECT_EQ(back->cutover, m.cutover);
  EXPECT_TRUE(back->staged);
  EXPECT_EQ(back->rolled_back_at, m.rolled_back_at);
  // A run.json written before these fields existed still loads, as an in-place run.
  auto old = run_manifest_to_json(RunManifest{});
  old.erase("cutover");
  old.erase("staged");
  old["target_collections"] =
      nlohmann::json::array({{{"name", "a"},
                              {"action", "created"},
                              {"state", "imported"},
                              {"source_collections", nlohmann::json::array()}}});
  auto loaded = run_manifest_from_json(old);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_FALSE(loaded->staged);
  EXPECT_EQ(loaded->target_collections[0].staging_name, "");
}

class IdempotentRenameTest : public SnapshotStoreTest {
 protected:
  CollectionInfo make(SnapshotStore& store, const std::string& name, const std::string& id) {
    CollectionInfo info;
    info.name = name;
    info.id = id;
    auto created = store.create_collection_from(info);
    EXPECT_TRUE(created) << created.error().message;
    return *created;
  }
};

TEST_F(IdempotentRenameTest, RenamesOnceAndRecognisesARenameThatAlreadyLanded) {
  auto store = open_or_die(dir_, Mode::kWrite);
  make(*store, "live", "id-1");
  auto first = rename_collection_idempotent(*store, "id-1", "live", "live.retained-r");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, RenameOutcome::kRenamed);
  // The re-run after a crash between the rename and the journal: nothing is sent again.
  auto again = rename_collection_idempotent(*store, "id-1", "live", "live.retained-r");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, RenameOutcome::kAlreadyDone);
  EXPECT_TRUE(store->find_collection("live.retained-r")->has_value());
  EXPECT_FALSE(store->find_collection("live")->has_value());
}

TEST_F(IdempotentRenameTest, RefusesWhenSomeoneElseChangedTheNames) {
  auto store = open_or_die(dir_, Mode::kWrite);
  make(*store, "a", "id-a");
  make(*store, "b", "id-b");
  make(*store, "c", "id-c");
  // The journalled collection is at neither name.
  auto lost = rename_collection_idempotent(*store, "id-x", "a", "z");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kVerifyFailed);
  // The destination holds a different collection.
  auto taken = rename_collection_idempotent(*store, "id-a", "a", "b");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(taken.error().message.find("id-b"), std::string::npos) << taken.error().message;
  // Nothing moved.
  for (const auto* name : {"a", "b", "c"}) EXPECT_TRUE(store->find_collection(name)->has_value());
}

TEST_F(IdempotentRenameTest, SnapshotRenameSurvivesReopenAndAnInterruptedRename) {
  {
    auto store = open_or_die(dir_, Mode::kWrite);
    auto c = make(*store, "old", "id-1");
    ASSERT_TRUE(store->upsert(c, make_records("r-", 20)));
    ASSERT_TRUE(store->rename_collection(c, "new"));
    ASSERT_TRUE(store->flush());
  }
  // A crash after the folder moved but before collection.json was rewritten: simulate by putting
  // the old name back into collection.json; reopening completes the rename.
  const auto json_path = dir_ / "collections" / "new" / "collection.json";
  auto text = read_file(json_path);
  ASSERT_TRUE(text);
  ASSERT_NE(text->find("\"new\""), std::string::npos) << *text;
  text->replace(text->find("\"new\""), 5, "\"old\"");
  ASSERT_TRUE(write_file_atomic(json_path, *text));
  auto store = open_or_die(dir_, Mode::kWrite);
  auto found = store->find_collection("new");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->name, "new");
  EXPECT_EQ(*store->count(**found), 20u);
  EXPECT_FALSE(store->find_collection("old")->has_value());
}

}  // namespace
}  // namespace cm
