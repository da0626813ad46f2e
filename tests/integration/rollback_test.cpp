// chroma-rollback against real servers, each test a full cycle (rollback_fixture.hpp): capture the
// target, migrate, break the target, validate FAILED, roll back, and the target equals its
// pre-migration state, the source is unchanged, and a new migration validates PASSED. Covered: in
// place (replace + create, merge), staged before and after the cutover and after --finalize, a
// corrupt backup, kill -9 mid-rollback, --dry-run, nothing to roll back, --force, interlocks.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/integration/rollback_fixture.hpp"
#include "tests/support/html_checks.hpp"

namespace cm::testing {
namespace {

std::vector<std::string> in_place() {
  return {"--if-exists", "replace", "--batch-size", "50"};
}
std::vector<std::string> staged(const std::string& run_id) {
  return {"--stage", "--if-exists", "replace", "--run-id", run_id, "--batch-size", "50"};
}
std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at) ++n;
  return n;
}

TEST_F(RollbackIntegration, InPlaceReplaceAndCreateAreUndoneFromTheBackup) {
  seed_target(2, 120);  // kb_articles and support_tickets exist: replaced; the other two created
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(in_place()).exit_code, 0);
  delete_one_record("support_tickets");
  ASSERT_EQ(validate().exit_code, 2);

  auto run = rollback();
  expect_rolled_back(run, before);
  auto r = rollback_report();
  EXPECT_EQ(r["paths"], nlohmann::json({"C"}));
  EXPECT_EQ(r["archive"]["collections"].size(), 4u);
  EXPECT_EQ(r["archive"]["records"], 239);  // the run's data as it was, fault included
  EXPECT_EQ(r["restored_records"], 120);
  EXPECT_EQ(r["verification"]["records_compared"], 120);
  EXPECT_GT(r["restore_records_per_second"].get<double>(), 0);
  EXPECT_EQ(r["trigger"]["overall_status"], "FAILED");
  for (const auto& d : r["downtime"]) EXPECT_GT(d["seconds"].get<double>(), 0) << d.dump();
  // The page: the trigger, one timeline span per action, the downtime as the JSON has it.
  auto html = read_file(work_dir() / "rollback_report.html");
  ASSERT_TRUE(html);
  EXPECT_EQ(external_references(*html), std::vector<std::string>{});
  EXPECT_NE(html->find("id=\"rollback-status\">ROLLED_BACK<"), std::string::npos);
  const auto timeline = svg_with_id(*html, "actions-timeline");
  ASSERT_TRUE(timeline);
  EXPECT_EQ(count_of(*timeline, "class=\"span\""), r["actions"].size());
  const auto downtime = svg_with_id(*html, "downtime");
  ASSERT_TRUE(downtime);
  for (const auto& d : r["downtime"]) {
    EXPECT_EQ(data_values(*downtime, d["live_name"].get<std::string>()),
              (std::vector<double>{d["seconds"].get<double>()}));
  }
  ASSERT_TRUE(element_with_id(*html, "verification"));
  EXPECT_NE(run.output.find("rollback_report.html"), std::string::npos) << run.output;
  auto audit = read_file(work_dir() / "audit.jsonl");
  ASSERT_TRUE(audit);
  EXPECT_GE(count_of(*audit, "\"delete_collection\""), 4u + 2u);  // migrate's 2, rollback's 4
  // Once done: a re-run is a no-op, and migrate refuses to resume the run.
  auto again = rollback();
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already rolled back"), std::string::npos) << again.output;
  EXPECT_EQ(migrate({"--resume", "--if-exists", "replace", "--batch-size", "50"}).exit_code, 3);
  expect_clean_remigration(in_place());
}

TEST_F(RollbackIntegration, InPlaceMergeIsUndoneFromTheBackup) {
  seed_target(4, 80);  // same ids as some of the source's, older content
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate({"--if-exists", "merge", "--batch-size", "50"}).exit_code, 0);
  // The fault is a lost record: a record changed after the run would be someone else's write,
  // which a merge rollback keeps (MergeRollbackKeepsOtherWritersRecordsAndTheCollection).
  delete_one_record("product_docs");
  ASSERT_EQ(validate().exit_code, 2);
  expect_rolled_back(rollback(), before);
  auto r = rollback_report();
  EXPECT_EQ(r["restored_records"], 0);  // nothing recreated: restored in place
  EXPECT_EQ(r["archive"]["collections"].size(), 0u);
  std::uint64_t put_back = 0;
  ASSERT_EQ(r["merged_in_place"].size(), 4u);
  for (const auto& m : r["merged_in_place"]) put_back += m["restored"].get<std::uint64_t>();
  EXPECT_EQ(put_back, 80u);
  expect_clean_remigration({"--if-exists", "merge", "--batch-size", "50"});
}

// Issue 10, item 3: after a merge into kb_articles an application writes app-0 and rewrites one
// record the run added; a forced rollback (killed twice on the way) restores kb_articles in place:
// the backup's records plus the application's, the same collection id, and the report lists them.
TEST_F(RollbackIntegration, StagedRunNeverCutOverIsDroppedWithoutDowntime) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(staged("r1")).exit_code, 0);
  delete_one_record("legal_clauses.staged-r1");
  ASSERT_EQ(validate().exit_code, 2);
  expect_rolled_back(rollback(), before);
  auto r = rollback_report();
  EXPECT_EQ(r["paths"], nlohmann::json({"B"}));
  for (const auto& d : r["downtime"]) EXPECT_EQ(d["seconds"], 0.0) << d.dump();
  EXPECT_EQ(r["restored_records"], 0);
  std::size_t untouched = 0;  // the live names: still the pre-run collections
  for (const auto& c : r["verification"]["collections"]) {
    if (c["expect"] != "untouched") continue;
    ++untouched;
    EXPECT_EQ(c["actual_records"], 20) << c.dump();
  }
  EXPECT_EQ(untouched, 4u);
  expect_clean_remigration(staged("r2"));
}

TEST_F(RollbackIntegration, StagedRunAfterCutoverIsSwappedBackByRenaming) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(staged("r1")).exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  auto c = tool(CHROMA_MIGRATE_BIN, {"--cutover"});
  ASSERT_EQ(c.exit_code, 0) << c.output;
  perturb_one_vector("kb_articles");  // the live name now serves the run's data
  ASSERT_EQ(validate().exit_code, 2);
  // Killed right after the third rename back landed; the re-run finds it by collection id.
  auto killed = rollback({}, {{"CHROMA_MIGRATE_FAULTS", "target.rename_collection=crash@3"}});
  ASSERT_TRUE(killed.signaled) << killed.output;
  expect_rolled_back(rollback(), before);
  auto r = rollback_report();
  EXPECT_EQ(r["paths"], nlohmann::json({"A"}));
  EXPECT_EQ(r["restored_records"], 0);  // no data copied back: renames only
  std::size_t renames = 0;
  for (const auto& a : r["actions"]) renames += a["action"] == "rename";
  EXPECT_EQ(renames, 8u);
  EXPECT_NE(r.dump().find("had landed before"), std::string::npos);
  EXPECT_EQ(r["archive"]["collections"].size(), 4u);
  EXPECT_GT(r["live_restored_seconds"].get<double>(), 0);
  for (const auto& d : r["downtime"]) {
    EXPECT_NE(d["disrupted_at"], "") << d.dump();
    EXPECT_GT(d["seconds"].get<double>(), 0) << d.dump();
  }
  // The live names were given back before anything was archived.
  std::string first_archive_at;
  for (const auto& a : r["actions"]) {
    if (a["action"] == "archive" && first_archive_at.empty()) first_archive_at = a["at"];
  }
  for (const auto& d : r["downtime"]) EXPECT_LE(d["restored_at"], first_archive_at);
  EXPECT_EQ(tool(CHROMA_MIGRATE_BIN, {"--cutover"}).exit_code, 3);  // refused once rolled back
  expect_clean_remigration(staged("r2"));
}

TEST_F(RollbackIntegration, StagedRunAfterFinalizeIsRestoredFromTheBackup) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(staged("r1")).exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  ASSERT_EQ(tool(CHROMA_MIGRATE_BIN, {"--cutover"}).exit_code, 0);
  ASSERT_EQ(tool(CHROMA_MIGRATE_BIN, {"--finalize"}).exit_code, 0);
  delete_one_record("support_tickets");
  ASSERT_EQ(validate().exit_code, 2);
  expect_rolled_back(rollback(), before);
  auto r = rollback_report();
  EXPECT_EQ(r["paths"], nlohmann::json({"C"}));
  EXPECT_EQ(r["restored_records"], 80);
  expect_clean_remigration(staged("r2"));
}

TEST_F(RollbackIntegration, CorruptBackupRefusesBeforeChangingAnything) {
  seed_target(2, 120);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(in_place()).exit_code, 0);
  delete_one_record("kb_articles");
  ASSERT_EQ(validate().exit_code, 2);
  const auto broken = state_of(target_uri());
  const auto part = corrupt_backup_part();
  auto run = rollback();
  EXPECT_EQ(run.exit_code, 7) << run.output;
  EXPECT_NE(run.output.find(part.filename().string()), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("nothing was deleted or renamed"), std::string::npos) << run.output;
  EXPECT_EQ(diff_text(broken, state_of(target_uri())), "");
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback.json"));
  EXPECT_EQ(manifest().rolled_back_at, "");
  EXPECT_NE(diff_text(before, broken), "");  // the target really is still the migrated one
}

TEST_F(RollbackIntegration, CorruptBackupAfterCutoverStillSwapsBackButDeletesNothing) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(staged("r1")).exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  ASSERT_EQ(tool(CHROMA_MIGRATE_BIN, {"--cutover"}).exit_code, 0);
  perturb_one_vector("kb_articles");
  ASSERT_EQ(validate().exit_code, 2);
  const auto part = corrupt_backup_part();
  // The swap-back destroys nothing, so it happens first; the corrupt backup then stops the
  // rollback before the first archive or drop.
  auto run = rollback();
  EXPECT_EQ(run.exit_code, 7) << run.output;
  EXPECT_NE(run.output.find(part.filename().string()), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("nothing was deleted"), std::string::npos) << run.output;
  auto now = state_of(target_uri());
  StoreState live;
  for (const auto& [name, c] : before) live[name] = now[name];
  EXPECT_EQ(diff_text(before, live, false), "");  // the live names serve the pre-run data
  EXPECT_EQ(now.size(), 2 * before.size());       // and the run's collections all still exist
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "snapshots" / "archive"));
  EXPECT_EQ(manifest().rolled_back_at, "");
}

TEST_F(RollbackIntegration, KilledMidRollbackCompletesOnReRun) {
  seed_target(2, 120);  // 60 records per replaced collection: backup parts of 50 and 10
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(in_place()).exit_code, 0);
  perturb_one_vector("legal_clauses");
  ASSERT_EQ(validate().exit_code, 2);
  // Killed right after a call landed, before rollback.json recorded it: the first drop, the first
  // re-create from the backup, the second restore upsert. Each re-run continues.
  for (const char* fault : {"target.delete_collection=crash@1", "target.create_collection=crash@1",
                            "target.upsert=crash@2"}) {
    auto killed = rollback({}, {{"CHROMA_MIGRATE_FAULTS", fault}});
    ASSERT_TRUE(killed.signaled) << fault << "\n" << killed.output;
  }
  expect_rolled_back(rollback(), before);
  auto r = rollback_report();
  EXPECT_EQ(r["invocations"], 4);
  EXPECT_EQ(r["archive"]["collections"].size(), 4u);
  EXPECT_NE(r.dump().find("had landed before a crash"), std::string::npos);
  expect_clean_remigration(in_place());
}

TEST_F(RollbackIntegration, DryRunPrintsThePlanAndChangesNothing) {
  seed_target(2, 120);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(in_place()).exit_code, 0);
  delete_one_record("product_docs");
  ASSERT_EQ(validate().exit_code, 2);
  const auto broken = state_of(target_uri());
  const auto files = listing(work_dir());
  auto dry = rollback({"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  for (const char* expected : {"verify the backup", "archive and drop 'product_docs'",
                               "59 records now", "recreate 'kb_articles' and upsert 60 records",
                               "path(s) C", "nothing was changed or written"}) {
    EXPECT_NE(dry.output.find(expected), std::string::npos) << expected << "\n" << dry.output;
  }
  EXPECT_EQ(diff_text(broken, state_of(target_uri())), "");
  EXPECT_EQ(listing(work_dir()), files);
  expect_rolled_back(rollback(), before);
  expect_clean_remigration(in_place());
}

TEST_F(RollbackIntegration, PassedRunIsLeftAloneUnlessForcedWithAReason) {
  const auto before = state_of(target_uri());  // empty: every collection is created by the run
  ASSERT_EQ(migrate({"--batch-size", "50"}).exit_code, 0);
  auto no_report = rollback();
  EXPECT_EQ(no_report.exit_code, 3) << no_report.output;
  EXPECT_NE(no_report.output.find("no validation report"), std::string::npos);
  ASSERT_EQ(validate().exit_code, 0);
  const auto migrated = state_of(target_uri());
  const auto files = listing(work_dir());
  auto nothing = rollback();
  EXPECT_EQ(nothing.exit_code, 0) << nothing.output;
  EXPECT_NE(nothing.output.find("nothing to roll back"), std::string::npos) << nothing.output;
  EXPECT_NE(nothing.output.find("PASSED"), std::string::npos);
  EXPECT_EQ(rollback({"--force"}).exit_code, 2);
  // A report of another run is refused.
  auto text = read_file(work_dir() / "validation_report.json");
  ASSERT_TRUE(text);
  auto other = nlohmann::json::parse(*text);
  other["run_id"] = "someone-else";
  ASSERT_TRUE(write_file_atomic(dir_ / "other.json", other.dump()));
  EXPECT_EQ(rollback({"--report", (dir_ / "other.json").string()}).exit_code, 3);
  ASSERT_TRUE(write_file_atomic(dir_ / "bad.json", "{\"overall_status\": "));  // unparseable
  EXPECT_EQ(rollback({"--report", (dir_ / "bad.json").string()}).exit_code, 3);
  EXPECT_EQ(diff_text(migrated, state_of(target_uri())), "");
  EXPECT_EQ(listing(work_dir()), files);

  auto forced = rollback({"--force", "--reason", "customer asked to keep the old index"});
  expect_rolled_back(forced, before);
  auto r = rollback_report();
  EXPECT_TRUE(r["trigger"]["forced"].get<bool>());
  EXPECT_EQ(r["trigger"]["reason"], "customer asked to keep the old index");
  EXPECT_EQ(r["trigger"]["overall_status"], "PASSED");
  expect_clean_remigration({"--batch-size", "50"});
}

TEST_F(RollbackIntegration, WorkingTargetNeedsTheConfirmation) {
  const std::map<std::string, std::string> confirm{
      {"MIGRATION_CONFIRM", "I_ACKNOWLEDGE_WORKING_MUTATION"}};
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate({"--target-env", "working"}, confirm).exit_code, 0);
  delete_one_record("kb_articles");
  ASSERT_EQ(validate().exit_code, 2);
  const auto broken = state_of(target_uri());
  auto refused = rollback();
  EXPECT_EQ(refused.exit_code, 11) << refused.output;
  EXPECT_NE(refused.output.find("MIGRATION_CONFIRM"), std::string::npos);
  EXPECT_EQ(diff_text(broken, state_of(target_uri())), "");
  expect_rolled_back(rollback({}, confirm), before);
}

TEST_F(RollbackIntegration, ChangedSourceFailsVerificationUntilItIsBack) {
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate({"--batch-size", "50"}).exit_code, 0);
  delete_one_record("kb_articles");
  ASSERT_EQ(validate().exit_code, 2);
  // Someone deletes a record from the source meanwhile.
  auto source = open(source_uri());
  auto info = source->find_collection("support_tickets");
  ASSERT_TRUE(info && *info);
  auto ids = source->list_ids(**info, 0, 1);
  ASSERT_TRUE(ids);
  auto lost = source->get_records(**info, *ids);
  ASSERT_TRUE(lost && lost->size() == 1);
  ASSERT_TRUE(source->delete_records(**info, *ids));
  auto failed = rollback();
  EXPECT_EQ(failed.exit_code, 6) << failed.output;
  EXPECT_EQ(rollback_report()["status"], "VERIFY_FAILED");
  EXPECT_EQ(rollback_report()["verification"]["source"]["status"], "mismatch");
  EXPECT_NE(failed.output.find("support_tickets"), std::string::npos) << failed.output;
  EXPECT_EQ(manifest().rolled_back_at, "");
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");  // the target part is done
  // Once the source is whole again, a re-run only verifies, and passes.
  ASSERT_TRUE(source->upsert(**info, *lost));
  expect_rolled_back(rollback(), before);
  EXPECT_EQ(rollback_report()["invocations"], 2);
  expect_clean_remigration({"--batch-size", "50"});
}

TEST_F(RollbackIntegration, ForeignCollectionUnderARunNameIsAConflict) {
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate({"--batch-size", "50"}).exit_code, 0);
  // Someone replaced one of the run's collections with their own.
  auto store = open(target_uri());
  ASSERT_TRUE(store->delete_collection("product_docs"));
  corpus::CorpusOptions o;
  o.dimension = 8;
  auto spec = corpus::collection_specs(o)[2];
  ASSERT_EQ(spec.name, "product_docs");
  auto theirs = store->create_collection(spec);
  ASSERT_TRUE(theirs);
  ASSERT_TRUE(store->upsert(*theirs, std::vector<Record>{corpus::make_record(o, 2, 0)}));
  ASSERT_EQ(validate().exit_code, 2);
  const auto broken = state_of(target_uri());
  auto refused = rollback();
  EXPECT_EQ(refused.exit_code, 9) << refused.output;
  EXPECT_NE(refused.output.find("is not this run's"), std::string::npos) << refused.output;
  EXPECT_EQ(diff_text(broken, state_of(target_uri()), false), "");
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback.json"));
  // Once they moved it away, the rollback goes through.
  ASSERT_TRUE(store->delete_collection("product_docs"));
  expect_rolled_back(rollback(), before);
  expect_clean_remigration({"--batch-size", "50"});
}

TEST_F(RollbackIntegration, CutoverKilledMidSwapIsUndoneByCollectionId) {
  seed_target(4, 80);
  const auto before = state_of(target_uri());
  ASSERT_EQ(migrate(staged("r1")).exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  // Killed after the third rename (legal_clauses -> retained) landed unjournalled: one live name
  // serves the run's data, one is missing, two were never touched.
  auto c = tool(CHROMA_MIGRATE_BIN, {"--cutover"},
                {{"CHROMA_MIGRATE_FAULTS", "target.rename_collection=crash@3"}});
  ASSERT_TRUE(c.signaled) << c.output;
  expect_rolled_back(rollback({"--force", "--reason", "cutover crashed"}), before);
  auto r = rollback_report();
  std::map<std::string, double> downtime;
  for (const auto& d : r["downtime"]) downtime[d["live_name"]] = d["seconds"];
  EXPECT_GT(downtime["kb_articles"], 0);
  EXPECT_GT(downtime["legal_clauses"], 0);
  EXPECT_EQ(downtime["product_docs"], 0);
  EXPECT_EQ(downtime["support_tickets"], 0);
  expect_clean_remigration(staged("r2"));
}

TEST_F(RollbackIntegration, ImportKilledMidWayIsRolledBackWhenForced) {
  seed_target(2, 120);
  const auto before = state_of(target_uri());
  // Killed right after the first replaced collection was dropped: it exists only in the backup,
  // the other replaced one was never touched, the created ones were never created.
  auto run = migrate(in_place(), {{"CHROMA_MIGRATE_FAULTS", "target.delete_collection=crash@1"}});
  ASSERT_TRUE(run.signaled) << run.output;
  EXPECT_EQ(rollback().exit_code, 3);  // no validation report: only --force
  expect_rolled_back(rollback({"--force", "--reason", "import crashed"}), before);
  auto r = rollback_report();
  EXPECT_EQ(r["restored_records"], 60);
  EXPECT_EQ(r["archive"]["collections"].size(), 0u);
  expect_clean_remigration(in_place());
}

}  // namespace
}  // namespace cm::testing
