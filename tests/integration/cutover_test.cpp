// Staged runs against real servers: `--stage` imports beside the live collections without touching
// them, chroma-validate judges the staged data, `--cutover` swaps it in by renaming only after a
// PASSED verdict (journalled, audited, completed after a crash mid-swap), `--finalize` drops the
// retained pre-run collections once the backup verifies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

const std::vector<std::string> kNames{"kb_articles", "legal_clauses", "product_docs",
                                      "support_tickets"};

class StagedCutover : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 240;
    o.dimension = 8;
    seed(source_uri(), o);
    // The target already serves older data under the same four names.
    corpus::CorpusOptions old = o;
    old.total_records = 60;
    old.seed = 99;
    seed(target_uri(), old);
    before_ = state_of(target_uri());
    ASSERT_EQ(before_.size(), 4u);
  }

  ProcessResult stage(const std::map<std::string, std::string>& env = {}) {
    return migrate({"--stage", "--if-exists", "replace", "--run-id", "r1", "--batch-size", "50"},
                   env);
  }
  ProcessResult tool(const std::string& bin, std::vector<std::string> args,
                     const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--work-dir", work_dir().string()});
    return run_process(bin, args, env);
  }
  ProcessResult validate() { return tool(CHROMA_VALIDATE_BIN, {"--sample", "10"}); }
  ProcessResult cutover(const std::map<std::string, std::string>& env = {}) {
    return tool(CHROMA_MIGRATE_BIN, {"--cutover"}, env);
  }
  RunManifest manifest() {
    auto store = RunManifestStore::load(work_dir() / "run.json");
    EXPECT_TRUE(store) << store.error().message;
    return store ? (*store)->get() : RunManifest{};
  }
  StoreState live(const std::string& uri, const std::string& suffix = "") {
    std::vector<std::string> names;
    for (const auto& n : kNames) names.push_back(n + suffix);
    auto store = open(uri);
    auto state = capture_state(*store, names);
    EXPECT_TRUE(state) << state.error().message;
    StoreState renamed;  // keyed by the live name, so states under other names compare
    for (auto& [name, c] : *state) {
      c.info.name = name.substr(0, name.size() - suffix.size());
      renamed[c.info.name] = std::move(c);
    }
    return renamed;
  }

  StoreState before_;
};

TEST_F(StagedCutover, StagedImportLeavesLiveNamesServingAndCutoverSwapsByRenaming) {
  auto run = stage();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // The live collections are untouched; the run's data sits under the documented staging names.
  EXPECT_EQ(diff_text(before_, live(target_uri())), "");
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri(), ".staged-r1")), "");
  auto m = manifest();
  ASSERT_TRUE(m.staged);
  for (const auto& e : m.target_collections) {
    EXPECT_EQ(e.staging_name, e.name + ".staged-r1");
    EXPECT_EQ(e.disrupted_at, "") << e.name << ": a staged import never touches the live name";
  }
  auto v = validate();
  ASSERT_EQ(v.exit_code, 0) << v.output;

  auto c = cutover();
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri())), "");
  EXPECT_EQ(diff_text(before_, live(target_uri(), ".retained-r1")), "");
  m = manifest();
  EXPECT_EQ(enum_name(m.cutover.state), std::string("done"));
  EXPECT_EQ(enum_name(m.cutover.report_status), std::string("PASSED"));
  ASSERT_EQ(m.cutover.steps.size(), 8u);
  for (const auto& s : m.cutover.steps)
    EXPECT_EQ(enum_name(s.state), std::string("done")) << s.from;
  for (const auto& e : m.target_collections) EXPECT_NE(e.disrupted_at, "") << e.name;
  // Each rename is in the audit log with the collection's id.
  auto audit = read_file(work_dir() / "audit.jsonl");
  ASSERT_TRUE(audit);
  std::size_t renames = 0;
  for (std::size_t at = 0; (at = audit->find("\"rename_collection\"", at)) != std::string::npos;
       ++at)
    ++renames;
  EXPECT_EQ(renames, 8u);
  // chroma-validate still works after the cutover (on the live names now).
  v = validate();
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // A second --cutover is a no-op.
  auto again = cutover();
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already cut over"), std::string::npos) << again.output;

  auto f = tool(CHROMA_MIGRATE_BIN, {"--finalize"});
  ASSERT_EQ(f.exit_code, 0) << f.output;
  EXPECT_TRUE(live(target_uri(), ".retained-r1").empty());
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri())), "");
  EXPECT_EQ(enum_name(manifest().cutover.state), std::string("finalized"));
}

TEST_F(StagedCutover, CutoverIsRefusedWithoutAPassedReportAndRenamesNothing) {
  ASSERT_EQ(stage().exit_code, 0);
  const auto staged = state_of(target_uri());
  auto none = cutover();
  EXPECT_EQ(none.exit_code, 3) << none.output;
  EXPECT_NE(none.output.find("no validation report"), std::string::npos) << none.output;
  // A record lost from one staged collection: validation FAILS and the cutover refuses.
  auto store = open(target_uri());
  auto info = store->find_collection("support_tickets.staged-r1");
  ASSERT_TRUE(info && *info);
  auto ids = store->list_ids(**info, 0, 1);
  ASSERT_TRUE(ids && !ids->empty());
  ASSERT_TRUE(store->delete_records(**info, *ids));
  auto v = validate();
  ASSERT_EQ(v.exit_code, 2) << v.output;
  const auto damaged = state_of(target_uri());
  auto refused = cutover();
  EXPECT_EQ(refused.exit_code, 11) << refused.output;
  EXPECT_NE(refused.output.find("chroma-rollback"), std::string::npos) << refused.output;
  EXPECT_EQ(diff_text(damaged, state_of(target_uri())), "");
  EXPECT_EQ(enum_name(manifest().cutover.state), std::string(""));
  EXPECT_EQ(staged.size(), 8u);
  // --finalize before a cutover is refused too.
  EXPECT_EQ(tool(CHROMA_MIGRATE_BIN, {"--finalize"}).exit_code, 3);
}

TEST_F(StagedCutover, AWarningVerdictCutsOverOnlyWithAcceptWarning) {
  ASSERT_EQ(stage().exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  // The same report, downgraded to WARNING (as a threshold between warn and fail would make it).
  const auto path = work_dir() / "validation_report.json";
  auto report = nlohmann::json::parse(*read_file(path));
  report["overall_status"] = "WARNING";
  ASSERT_TRUE(write_file_atomic(path, report.dump()));
  const auto staged = state_of(target_uri());
  auto refused = cutover();
  EXPECT_EQ(refused.exit_code, 11) << refused.output;
  EXPECT_NE(refused.output.find("--accept-warning"), std::string::npos) << refused.output;
  EXPECT_EQ(diff_text(staged, state_of(target_uri())), "");
  // A report of another run is refused, whatever its verdict.
  auto other = report;
  other["run_id"] = "someone-else";
  ASSERT_TRUE(write_file_atomic(dir_ / "other.json", other.dump()));
  auto foreign = tool(CHROMA_MIGRATE_BIN, {"--cutover", "--accept-warning", "--report",
                                           (dir_ / "other.json").string()});
  EXPECT_EQ(foreign.exit_code, 3) << foreign.output;
  EXPECT_EQ(diff_text(staged, state_of(target_uri())), "");
  auto accepted = tool(CHROMA_MIGRATE_BIN, {"--cutover", "--accept-warning"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.output;
  EXPECT_EQ(enum_name(manifest().cutover.report_status), std::string("WARNING"));
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri())), "");
}

TEST_F(StagedCutover, ACrashMidSwapIsCompletedByRunningCutoverAgain) {
  ASSERT_EQ(stage().exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  // Killed right after the third rename landed, before run.json recorded it.
  auto crashed = cutover({{"CHROMA_MIGRATE_FAULTS", "target.rename_collection=crash@3"}});
  ASSERT_TRUE(crashed.signaled) << crashed.output;
  auto m = manifest();
  EXPECT_EQ(enum_name(m.cutover.state), std::string("swapping"));
  EXPECT_EQ(enum_name(m.cutover.steps[2].state),
            std::string("planned"));  // landed, but not recorded
  auto resumed = cutover();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("had landed before a crash"), std::string::npos) << resumed.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri())), "");
  EXPECT_EQ(diff_text(before_, live(target_uri(), ".retained-r1")), "");
  EXPECT_EQ(enum_name(manifest().cutover.state), std::string("done"));
}

TEST_F(StagedCutover, NothingRunsOnAWorkDirAnotherInvocationHolds) {
  ASSERT_EQ(stage().exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  const auto staged = state_of(target_uri());
  auto held = WorkDirLock::acquire(work_dir(), "test");
  ASSERT_TRUE(held) << held.error().message;
  for (const auto& run : {cutover(), tool(CHROMA_MIGRATE_BIN, {"--finalize"}),
                          tool(CHROMA_ROLLBACK_BIN, {"--force", "--reason", "x"}), stage()}) {
    EXPECT_EQ(run.exit_code, 9) << run.output;
    EXPECT_NE(run.output.find("is in use by test (pid"), std::string::npos) << run.output;
  }
  EXPECT_EQ(diff_text(staged, state_of(target_uri())), "");
  EXPECT_EQ(enum_name(manifest().cutover.state), std::string(""));
  held->reset();  // released: the cutover goes ahead
  EXPECT_EQ(cutover().exit_code, 0);
}

TEST_F(StagedCutover, FinalizeArchivesWritesTheRetainedCollectionTookAfterTheBackup) {
  ASSERT_EQ(stage().exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  ASSERT_EQ(cutover().exit_code, 0);
  // A client that still holds the old collection's id writes to it after the cutover.
  auto store = open(target_uri());
  auto retained = store->find_collection("kb_articles.retained-r1");
  ASSERT_TRUE(retained && *retained);
  ASSERT_TRUE(store->upsert(
      **retained, std::vector<Record>{
                      {"late-0", std::vector<float>(8, 0.5f), "written after the backup", {}}}));

  auto f = tool(CHROMA_MIGRATE_BIN, {"--finalize"});
  ASSERT_EQ(f.exit_code, 0) << f.output;
  EXPECT_TRUE(live(target_uri(), ".retained-r1").empty());
  EXPECT_EQ(diff_text(state_of(source_uri()), live(target_uri())), "");
  // The write survives in a verified archive in the work dir; the unchanged ones were not archived.
  const auto dir = work_dir() / "snapshots" / "finalize-archive-kb_articles";
  auto archive = SnapshotStore::open(dir, SnapshotStore::Mode::kRead);
  ASSERT_TRUE(archive) << f.output;
  auto report = (*archive)->verify();
  ASSERT_TRUE(report && report->ok());
  auto saved = (*archive)->find_collection("kb_articles.retained-r1");
  ASSERT_TRUE(saved && *saved);
  auto late = (*archive)->get_records(**saved, std::vector<std::string>{"late-0"});
  ASSERT_TRUE(late);
  EXPECT_EQ(late->size(), 1u);
  EXPECT_EQ(*(*archive)->count(**saved), before_.at("kb_articles").count + 1);
  EXPECT_FALSE(
      std::filesystem::exists(work_dir() / "snapshots" / "finalize-archive-legal_clauses"));
  EXPECT_NE(f.output.find("took writes after the backup"), std::string::npos) << f.output;
}

TEST_F(StagedCutover, CutoverRefusesALiveCollectionRecreatedSinceTheBackup) {
  ASSERT_EQ(stage().exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  // Someone drops and re-creates a live collection after the backup.
  auto store = open(target_uri());
  ASSERT_TRUE(store->delete_collection("kb_articles"));
  CollectionSpec spec{"kb_articles", {}, {}, {}};
  auto recreated = store->create_collection(spec);
  ASSERT_TRUE(recreated);
  auto refused = cutover();
  EXPECT_EQ(refused.exit_code, 9) << refused.output;
  EXPECT_NE(refused.output.find("kb_articles"), std::string::npos) << refused.output;
  auto still = store->find_collection("kb_articles");
  ASSERT_TRUE(still && *still);
  EXPECT_EQ((*still)->id, recreated->id) << "the re-created collection was renamed away";
}

TEST_F(StagedCutover, StageRefusesMergeAndAResumeOfARolledBackRun) {
  auto merge = migrate({"--stage", "--if-exists", "merge"});
  EXPECT_EQ(merge.exit_code, 2) << merge.output;
  EXPECT_NE(merge.output.find("--stage cannot be combined with --if-exists merge"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(work_dir()));
  auto taken = migrate({"--stage", "--run-id", "bad..id"});
  EXPECT_EQ(taken.exit_code, 2) << taken.output;
  EXPECT_EQ(diff_text(before_, state_of(target_uri())), "");
}

}  // namespace
}  // namespace cm::testing
