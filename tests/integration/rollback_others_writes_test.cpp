// chroma-rollback of records others wrote after the run, against real servers: a merged
// collection is restored in place, by record (other writers' records kept and listed, the
// collection keeps its id), and a replaced collection's post-run records are listed with the
// archive that keeps them. The other rollback paths: rollback_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/integration/rollback_fixture.hpp"

namespace cm::testing {
namespace {

std::vector<std::string> in_place() {
  return {"--if-exists", "replace", "--batch-size", "50"};
}
TEST_F(RollbackIntegration, MergeRollbackKeepsOtherWritersRecordsAndTheCollection) {
  seed_target(1, 10);  // kb_articles: 10 records, ids the source has too
  auto store = open(target_uri());
  auto pre = store->find_collection("kb_articles");
  ASSERT_TRUE(pre && *pre);
  const std::string pre_id = (*pre)->id;
  {
    // One pre-run record with fewer metadata keys than the run's version of it: putting it back
    // by upsert leaves the run's keys (Chroma merges metadata), so rollback must remove them.
    auto seeded = state_of(target_uri());
    auto bare = seeded["kb_articles"].records.front();
    bare.metadata = {{"only", std::string("this key")}};
    ASSERT_TRUE(store->delete_records(**pre, std::vector<std::string>{bare.id}));
    ASSERT_TRUE(store->upsert(**pre, std::vector<Record>{bare}));
  }
  auto expected = state_of(target_uri());
  ASSERT_EQ(expected.size(), 1u);
  ASSERT_EQ(expected["kb_articles"].count, 10u);
  ASSERT_EQ(migrate({"--if-exists", "merge", "--batch-size", "50"}).exit_code, 0);

  auto docs = store->find_collection("kb_articles");
  ASSERT_TRUE(docs && *docs);
  ASSERT_EQ((*docs)->id, pre_id);
  Record app{"app-0",
             std::vector<float>(8, 0.5f),
             std::string("written by the app"),
             {{"app", std::string("yes")}}};
  ASSERT_TRUE(store->upsert(**docs, std::vector<Record>{app}));
  // One record the run added, rewritten by the application.
  std::string added;
  auto merged = state_of(target_uri());
  for (const auto& r : merged["kb_articles"].records) {
    bool in_backup = false;
    for (const auto& b : expected["kb_articles"].records) in_backup |= b.id == r.id;
    if (!in_backup && r.id != "app-0") {
      added = r.id;
      break;
    }
  }
  ASSERT_FALSE(added.empty());
  std::vector<std::string> added_ids{added};
  auto rewritten = store->get_records(**docs, added_ids);
  ASSERT_TRUE(rewritten && rewritten->size() == 1);
  (*rewritten)[0].document = "rewritten by the app";
  ASSERT_TRUE(store->upsert(**docs, *rewritten));

  // Killed right after the first put-back upsert landed, then after the first delete of an added
  // record: the re-runs continue from rollback.json.
  // The second is the delete of the record with stale keys: the third invocation finds it
  // missing and its id journalled, and upserts the backup version.
  std::string killed_output;
  for (const char* fault : {"target.upsert=crash@1", "target.delete_records=crash@1"}) {
    auto killed = rollback({"--force", "--reason", "app wrote after the merge"},
                           {{"CHROMA_MIGRATE_FAULTS", fault}});
    ASSERT_TRUE(killed.signaled) << fault << "\n" << killed.output;
    killed_output += killed.output;
  }
  std::string logs;
  for (const auto& f : std::filesystem::directory_iterator(work_dir() / "logs")) {
    if (f.path().filename().string().starts_with("chroma-rollback")) logs += *read_file(f.path());
  }
  EXPECT_NE(logs.find("record(s) kept metadata keys the backup lacks"), std::string::npos)
      << logs << killed_output;
  auto run = rollback();
  ASSERT_EQ(run.exit_code, 0) << run.output;

  auto after = store->find_collection("kb_articles");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->id, pre_id);  // the same collection: clients holding it keep working
  auto& want = expected["kb_articles"];
  want.records.push_back(app);
  want.records.push_back((*rewritten)[0]);
  std::sort(want.records.begin(), want.records.end(),
            [](const Record& a, const Record& b) { return a.id < b.id; });
  want.count += 2;
  const auto now = state_of(target_uri());
  EXPECT_EQ(diff_text(expected, now, false), "");  // other collections of the run are gone too
  EXPECT_EQ(diff_text(source_before_, state_of(source_uri()), false), "");

  auto r = rollback_report();
  EXPECT_EQ(r["status"], "ROLLED_BACK") << r.dump(2);
  EXPECT_TRUE(r["verification"]["ok"].get<bool>()) << r["verification"].dump(2);
  EXPECT_EQ(r["invocations"], 3);
  ASSERT_EQ(r["merged_in_place"].size(), 1u);
  const auto& m = r["merged_in_place"][0];
  EXPECT_EQ(m["name"], "kb_articles");
  EXPECT_EQ(m["collection_id"], pre_id);
  EXPECT_EQ(m["restored"], 10);
  // (rewritten_for_stale_keys counts parts that finished: that one was cut short by the kill.)
  EXPECT_EQ(m["kept_foreign"]["count"], 1);
  EXPECT_EQ(m["kept_foreign"]["ids"], nlohmann::json({"app-0"}));
  EXPECT_EQ(m["kept_changed_after_run"]["count"], 1);
  EXPECT_EQ(m["kept_changed_after_run"]["ids"], nlohmann::json({added}));
  EXPECT_EQ(r["kept_records_of_others"], 2);
  auto md = read_file(work_dir() / "rollback_report.md");
  ASSERT_TRUE(md);
  EXPECT_NE(md->find("app-0"), std::string::npos) << *md;
  EXPECT_NE(md->find(added), std::string::npos) << *md;
  EXPECT_NE(manifest().rolled_back_at, "");
}

// Issue 10, item 3 (replace): records written into a replaced collection after the run are
// dropped with it from the live name, and the report says which and that the archive keeps them.
TEST_F(RollbackIntegration, ReplacedCollectionWrittenAfterTheRunIsListedWithTheArchive) {
  seed_target(1, 10);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(in_place()).exit_code, 0);
  auto store = open(target_uri());
  auto docs = store->find_collection("kb_articles");
  ASSERT_TRUE(docs && *docs);
  Record app{"app-1", std::vector<float>(8, 0.25f), std::string("written by the app"), {}};
  ASSERT_TRUE(store->upsert(**docs, std::vector<Record>{app}));
  auto run = rollback({"--force", "--reason", "app wrote after the replace"});
  expect_rolled_back(run, before);
  auto r = rollback_report();
  EXPECT_EQ(r["archive"]["path"], "snapshots/archive");
  EXPECT_EQ(r["archive"]["others_wrote_records"], 1);
  const auto& o = r["archive"]["others_wrote"]["kb_articles"];
  EXPECT_EQ(o["count"], 1) << r["archive"].dump(2);
  EXPECT_EQ(o["ids"], nlohmann::json({"app-1"}));
  EXPECT_EQ(o["live_name"], "kb_articles");
  auto md = read_file(work_dir() / "rollback_report.md");
  ASSERT_TRUE(md);
  EXPECT_NE(md->find("app-1"), std::string::npos) << *md;
  EXPECT_NE(run.output.find("written by others"), std::string::npos) << run.output;
  // The archive really holds it.
  auto archive =
      SnapshotStore::open(work_dir() / "snapshots" / "archive", SnapshotStore::Mode::kRead);
  ASSERT_TRUE(archive) << archive.error().message;
  auto info = (*archive)->find_collection("kb_articles");
  ASSERT_TRUE(info && *info);
  std::vector<std::string> ids{"app-1"};
  auto kept = (*archive)->get_records(**info, ids);
  ASSERT_TRUE(kept && kept->size() == 1);
  EXPECT_EQ((*kept)[0].document, app.document);
}

// After a cutover, applications write to the new live collections. Rolling back says so before
// it acts (and in --dry-run), archives those writes with the run's data, and lists them by id.
TEST_F(RollbackIntegration, WritesAfterTheCutoverAreAnnouncedArchivedAndListed) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate({"--stage", "--if-exists", "replace", "--run-id", "w1", "--batch-size", "50"})
                .exit_code,
            0);
  ASSERT_EQ(validate().exit_code, 0);
  ASSERT_EQ(tool(CHROMA_MIGRATE_BIN, {"--cutover"}).exit_code, 0);
  auto store = open(target_uri());
  auto live = store->find_collection("kb_articles");
  ASSERT_TRUE(live && *live);
  std::vector<Record> app;
  for (int i = 0; i < 3; ++i) {
    app.push_back({"after-cutover-" + std::to_string(i),
                   std::vector<float>(8, 0.5f),
                   std::string("written after the cutover"),
                   {}});
  }
  ASSERT_TRUE(store->upsert(**live, app));

  auto dry = rollback({"--dry-run", "--force", "--reason", "test"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("it was written after the run"), std::string::npos) << dry.output;
  auto run = rollback({"--force", "--reason", "bad data found after the cutover"});
  EXPECT_NE(run.output.find("written after the run"), std::string::npos) << run.output;
  expect_rolled_back(run, before);
  const auto report = rollback_report();
  const auto& o = report["archive"]["others_wrote"];
  ASSERT_TRUE(o.contains("kb_articles.staged-w1")) << report["archive"].dump(2);
  EXPECT_EQ(o["kb_articles.staged-w1"]["count"], 3);
  EXPECT_EQ(o["kb_articles.staged-w1"]["live_name"], "kb_articles");
}

// A merged collection's pre-run records that a sync of the run deleted (the source deleted them
// after the migration) come back from the backup when the run is rolled back.
TEST_F(RollbackIntegration, MergeRollbackPutsBackWhatASyncDeleted) {
  seed_target(1, 10);  // kb_articles: 10 records, ids the source has too
  const auto expected = state_of(target_uri());
  ASSERT_EQ(migrate({"--if-exists", "merge", "--batch-size", "50"}).exit_code, 0);
  auto source = open(source_uri());
  auto articles = source->find_collection("kb_articles");
  ASSERT_TRUE(articles && *articles);
  const std::vector<std::string> gone{expected.at("kb_articles").records[0].id,
                                      expected.at("kb_articles").records[1].id};
  ASSERT_TRUE(source->delete_records(**articles, gone));
  auto synced = tool(CHROMA_MIGRATE_BIN, {"--sync"});
  ASSERT_EQ(synced.exit_code, 0) << synced.output;
  auto target = open(target_uri());
  auto merged = target->find_collection("kb_articles");
  ASSERT_TRUE(merged && *merged);
  auto after_sync = target->get_records(**merged, gone);
  ASSERT_TRUE(after_sync && after_sync->empty()) << "the sync did not carry the deletes over";

  auto run = rollback({"--force", "--reason", "sync then rollback"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(expected, state_of(target_uri()), false), "");
  auto r = rollback_report();
  ASSERT_EQ(r["merged_in_place"].size(), 1u);
  EXPECT_EQ(r["merged_in_place"][0]["kept_changed_after_run"]["count"], 0);
  EXPECT_EQ(r["merged_in_place"][0]["backup_records_changed_by_others"]["count"], 0) << r.dump(2);
}

}  // namespace
}  // namespace cm::testing
