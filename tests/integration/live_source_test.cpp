// A live source (issue 11) against real servers: a writer adds, updates and deletes records on the
// source while chroma-migrate exports it (the run completes instead of stopping with exit 6), and
// chroma-migrate --sync then carries every change over: added, changed (the vector alone too),
// deleted, deleted and re-added with another vector, re-routed by a mapping. A sync is repeatable,
// survives kill -9, writes nothing when nothing changed, and --dry-run writes nothing at all.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/html_checks.hpp"

namespace cm::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::size_t lines_of(const std::filesystem::path& file) {
  auto text = read_file(file);
  return text ? static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n')) : 0;
}

// Adds, updates (vector and metadata) and deletes records of `collection` in a loop until
// stopped: a production source that keeps taking writes. Paced at about 200 operations a second.
class Writer {
 public:
  Writer(std::unique_ptr<VectorStore> store, CollectionInfo collection)
      : store_(std::move(store)), collection_(std::move(collection)) {}
  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~Writer() { stop(); }
  std::size_t operations() const { return ops_; }

 private:
  void loop() {
    for (int n = 0; !stop_; ++n) {
      const auto i = static_cast<float>(n);
      std::vector<Record> add{
          {"live-" + std::to_string(n), std::vector<float>(8, 0.01f * i), "added live", {}}};
      (void)store_->upsert(collection_, add);
      auto ids = store_->list_ids(collection_, static_cast<std::uint64_t>(n % 50), 2);
      if (ids && ids->size() == 2) {
        auto got = store_->get_records(collection_, std::vector<std::string>{(*ids)[0]});
        if (got && !got->empty()) {
          Record r = got->front();
          r.embedding[0] += 0.5f;
          r.metadata["touched"] = std::int64_t{n};
          (void)store_->upsert(collection_, std::vector<Record>{r});
        }
        (void)store_->delete_records(collection_, std::vector<std::string>{(*ids)[1]});
      }
      ops_ += 3;
      std::this_thread::sleep_for(std::chrono::milliseconds(15));  // pacing, not readiness
    }
  }
  std::unique_ptr<VectorStore> store_;
  CollectionInfo collection_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ops_{0};
  std::thread thread_;
};

class LiveSource : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 1200;
    o.collections = 2;
    o.dimension = 8;
    seed(source_uri(), o);
  }
  ProcessResult work(std::vector<std::string> args,
                     const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {"--work-dir", work_dir().string(), "--retry-base-ms", "20"});
    return run_process(CHROMA_MIGRATE_BIN, args, env);
  }
  ProcessResult sync(std::vector<std::string> extra = {},
                     const std::map<std::string, std::string>& env = {}) const {
    extra.insert(extra.begin(), "--sync");
    return work(extra, env);
  }
  ProcessResult validate() const {
    return run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work_dir().string(), "--sample", "10"});
  }
  CollectionInfo source_collection(const std::string& name) const {
    auto found = open(source_uri())->find_collection(name);
    EXPECT_TRUE(found && *found) << name;
    return found && *found ? **found : CollectionInfo{};
  }
  // The live names of the target (staging and retained collections left out).
  StoreState live_target() const {
    StoreState all = state_of(target_uri()), live;
    for (const auto& [name, c] : all) {
      if (!contains(name, ".staged-") && !contains(name, ".retained-")) live[name] = c;
    }
    return live;
  }
  bool target_has(const std::string& name) const {
    auto found = open(target_uri())->find_collection(name);
    return found && *found;
  }
  const std::string first_ = "kb_articles";
};

TEST_F(LiveSource, EveryKindOfChangeReachesTheTarget) {
  ASSERT_EQ(migrate({"--batch-size", "100"}).exit_code, 0);
  auto source = open(source_uri());
  const CollectionInfo c = source_collection(first_);
  auto ids = source->list_ids(c, 0, 4);
  ASSERT_TRUE(ids && ids->size() == 4u);
  auto got = source->get_records(c, *ids);
  ASSERT_TRUE(got && got->size() == 4u);
  std::map<std::string, Record> by_id;
  for (auto& r : *got) by_id[r.id] = r;
  const std::string deleted = (*ids)[0], readded = (*ids)[1], moved = (*ids)[2],
                    relabelled = (*ids)[3];
  ASSERT_TRUE(source->delete_records(c, std::vector<std::string>{deleted, readded}));
  Record again = by_id[readded];
  again.embedding.assign(8, 0.0f);
  again.embedding[3] = 1.0f;  // another vector, same id
  Record vector_only = by_id[moved];
  vector_only.embedding[0] = -vector_only.embedding[0];
  Record metadata_only = by_id[relabelled];
  metadata_only.metadata.erase("lang");  // a key removed: upsert alone would keep it
  metadata_only.metadata["label"] = std::string("new");
  ASSERT_TRUE(source->upsert(c, std::vector<Record>{again, vector_only, metadata_only}));
  ASSERT_TRUE(source->upsert(
      c, std::vector<Record>{{"brand-new", std::vector<float>(8, 0.125f), "new doc", {}}}));

  // Validation against the live source reports the drift beside the verdict, not in it.
  auto drifted = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work_dir().string(), "--sample",
                                                   "10", "--source", source_uri()});
  EXPECT_EQ(drifted.exit_code, 0) << "drift must not change the verdict\n" << drifted.output;
  EXPECT_TRUE(contains(drifted.output, "source drift:       5 change(s)")) << drifted.output;
  auto report = nlohmann::json::parse(*read_file(work_dir() / "validation_report.json"));
  EXPECT_EQ(report["overall_status"], "PASSED");
  EXPECT_EQ(report["source_drift"]["total"], 5);
  EXPECT_EQ(report["source_drift"]["collections"][first_]["changed"], 3);
  EXPECT_EQ(report["source_drift"]["collections"][first_]["deleted"], 1);
  EXPECT_TRUE(contains(*read_file(work_dir() / "validation_report.md"), "## Source drift"));

  auto dry = sync({"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(contains(dry.output, first_ + ": 1 added, 3 changed, 1 deleted")) << dry.output;
  EXPECT_TRUE(contains(dry.output, "nothing was written")) << dry.output;
  EXPECT_NE(diff_text(state_of(source_uri()), state_of(target_uri())), "");

  const auto snapshots = work_dir() / "snapshots";
  const std::string base_manifest = *read_file(snapshots / "source" / "manifest.json");
  auto run = sync();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, first_ + ": 1 added, 3 changed, 1 deleted")) << run.output;
  // Recorded as a delta generation on top of the export, which stays as it was.
  EXPECT_EQ(*read_file(snapshots / "source" / "manifest.json"), base_manifest);
  auto delta =
      nlohmann::json::parse(*read_file(snapshots / "source.deltas" / "000001" / "manifest.json"));
  EXPECT_EQ(delta["generation"], 1);
  ASSERT_EQ(delta["collections"].size(), 1u);
  EXPECT_EQ(delta["collections"][0]["record_count"], 5);  // 4 upserts and 1 tombstone
  EXPECT_EQ(delta["collections"][0]["tombstones"], 1);
  EXPECT_TRUE(contains(run.output, "converged")) << run.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), state_of(target_uri())), "");
  auto m = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  ASSERT_EQ(m["syncs"].size(), 1u);
  EXPECT_EQ(m["syncs"][0]["collections"][first_]["deleted"], 1);
  EXPECT_TRUE(m["syncs"][0]["converged"].get<bool>());
  // The summary carries the run's syncs, and its page plots their deltas.
  auto summary = nlohmann::json::parse(*read_file(work_dir() / "migration_summary.json"));
  EXPECT_EQ(summary["syncs"], m["syncs"]);
  auto page = read_file(work_dir() / "migration_summary.html");
  ASSERT_TRUE(page);
  const auto deltas = svg_with_id(*page, "sync-deltas");
  ASSERT_TRUE(deltas);
  EXPECT_EQ(data_values(*deltas, "sync 1"), (std::vector<double>{1, 3, 1, 0}));
  EXPECT_TRUE(contains(run.output, "html page (every sync of the run)")) << run.output;
  // The run's own validation now judges the synced state.
  auto v = validate();
  EXPECT_EQ(v.exit_code, 0) << v.output;

  // Nothing changed since: a second sync finds nothing and writes nothing.
  const std::size_t audited = lines_of(work_dir() / "audit.jsonl");
  auto idle = sync();
  ASSERT_EQ(idle.exit_code, 0) << idle.output;
  EXPECT_TRUE(contains(idle.output, "0 change(s) applied")) << idle.output;
  EXPECT_EQ(lines_of(work_dir() / "audit.jsonl"), audited) << "an idle sync wrote to the target";
  EXPECT_FALSE(std::filesystem::exists(snapshots / "source.deltas" / "000002"));
}

TEST_F(LiveSource, KilledMidSyncThenSyncAgainIsIdentical) {
  ASSERT_EQ(migrate({"--batch-size", "50"}).exit_code, 0);
  auto source = open(source_uri());
  const CollectionInfo c = source_collection(first_);
  std::vector<Record> changes;
  for (int i = 0; i < 120; ++i) {
    changes.push_back({"late-" + std::to_string(i),
                       std::vector<float>(8, 0.002f * static_cast<float>(i)),
                       "late",
                       {}});
  }
  ASSERT_TRUE(source->upsert(c, changes));
  auto ids = source->list_ids(c, 0, 30);
  ASSERT_TRUE(ids);
  ASSERT_TRUE(source->delete_records(c, *ids));
  // Killed right after the second target write was acknowledged, before the snapshots caught up.
  auto killed = sync({}, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@2"}});
  ASSERT_TRUE(killed.signaled) << killed.output;
  auto again = sync();
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), state_of(target_uri())), "");
  EXPECT_EQ(validate().exit_code, 0);
}

TEST_F(LiveSource, StagedRunUnderWritesSyncsThenCutsOverToTheSourceExactly) {
  Writer writer(open(source_uri()), source_collection(first_));
  writer.start();
  auto run = migrate({"--stage", "--run-id", "live1", "--batch-size", "50"});
  const std::size_t during = writer.operations();
  // A sync while the writer still writes: applied, but it cannot converge on a moving source.
  auto busy = sync();
  writer.stop();
  ASSERT_EQ(run.exit_code, 0) << "a busy source must not stop the run\n" << run.output;
  EXPECT_GT(during, 0u);
  ASSERT_EQ(busy.exit_code, 0) << busy.output;
  // The final sync on a quiet source converges, and the cutover serves the source exactly.
  auto final_sync = sync();
  ASSERT_EQ(final_sync.exit_code, 0) << final_sync.output;
  EXPECT_TRUE(contains(final_sync.output, "converged (")) << final_sync.output;
  ASSERT_EQ(validate().exit_code, 0);
  auto cut = work({"--cutover"});
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), live_target()), "");
}

// --cutover's final sync: more changes than --max-final-sync refuses the cutover (exit 3, the live
// names untouched, the changes applied to the staged collections); a re-validated run cuts over
// with the source's latest state and prints the write-freeze window.
TEST_F(LiveSource, TheFinalSyncBoundsWhatTheCutoverSwapsInUnvalidated) {
  ASSERT_EQ(migrate({"--stage", "--run-id", "fin1", "--batch-size", "100"}).exit_code, 0);
  ASSERT_EQ(validate().exit_code, 0);
  auto source = open(source_uri());
  const CollectionInfo c = source_collection(first_);
  std::vector<Record> late;
  for (int i = 0; i < 5; ++i) {
    late.push_back({"late-" + std::to_string(i), std::vector<float>(8, 0.25f), "late", {}});
  }
  ASSERT_TRUE(source->upsert(c, late));
  auto refused = work({"--cutover", "--max-final-sync", "2"});
  EXPECT_EQ(refused.exit_code, kExitConfigMismatch) << refused.output;
  EXPECT_TRUE(contains(refused.output, "applied 5 changes (more than --max-final-sync 2)"))
      << refused.output;
  EXPECT_FALSE(target_has(first_ + ".retained-fin1")) << "the cutover went ahead";
  ASSERT_EQ(validate().exit_code, 0);
  auto cut = work({"--cutover", "--max-final-sync", "2"});
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_TRUE(contains(cut.output, "write-freeze window")) << cut.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), live_target()), "");
  auto m = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  ASSERT_EQ(m["syncs"].size(), 2u);
  EXPECT_TRUE(m["syncs"][1]["final"].get<bool>());
}

TEST_F(LiveSource, InPlaceRunUnderWritesSyncsToTheSourceExactly) {
  Writer writer(open(source_uri()), source_collection(first_));
  writer.start();
  auto run = migrate({"--batch-size", "50"});
  writer.stop();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto synced = sync();
  ASSERT_EQ(synced.exit_code, 0) << synced.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), state_of(target_uri())), "");
  EXPECT_EQ(validate().exit_code, 0);
}

// With a mapping, a changed record can move to another target collection: its old copy goes.
TEST_F(LiveSource, AMappedRecordThatChangesRouteMovesBetweenTargets) {
  nlohmann::json mapping = {
      {"mapping_version", 1},
      {"targets", {{"english", nlohmann::json::object()}, {"others", nlohmann::json::object()}}},
      {"routes",
       {{{"from", {first_}}, {"where", {{"lang", {{"eq", "en"}}}}}, {"to", "english"}},
        {{"from", {first_}}, {"to", "others"}}}}};
  const auto file = dir_ / "mapping.json";
  ASSERT_TRUE(write_file_atomic(file, mapping.dump()));
  auto migrated = migrate({"--mapping", file.string()});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  auto target = open(target_uri());
  auto english = target->find_collection("english");
  ASSERT_TRUE(english && *english);
  auto ids = target->list_ids(**english, 0, 1);
  ASSERT_TRUE(ids && ids->size() == 1u);
  const std::string id = ids->front();
  auto source = open(source_uri());
  const CollectionInfo c = source_collection(first_);
  auto got = source->get_records(c, std::vector<std::string>{id});
  ASSERT_TRUE(got && got->size() == 1u);
  Record r = got->front();
  r.metadata["lang"] = std::string("de");
  ASSERT_TRUE(source->upsert(c, std::vector<Record>{r}));

  auto run = sync();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, first_ + ": 0 added, 1 changed, 0 deleted")) << run.output;
  auto in_english = target->get_records(**english, std::vector<std::string>{id});
  ASSERT_TRUE(in_english);
  EXPECT_TRUE(in_english->empty()) << "the old copy stayed in 'english'";
  auto others = target->find_collection("others");
  ASSERT_TRUE(others && *others);
  auto in_others = target->get_records(**others, std::vector<std::string>{id});
  ASSERT_TRUE(in_others && in_others->size() == 1u);
  EXPECT_EQ(std::get<std::string>(in_others->front().metadata.at("lang")), "de");
  auto v = validate();
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// Applications write to the run's target collections (live from the start in an in-place run, or
// after a cutover): a sync never replaces or deletes a record someone else changed since the run
// wrote it. It applies every other change, reports the conflicts (exit 9), and finds the source
// changes it held back again once the operator has decided.
TEST_F(LiveSource, ATargetRecordSomeoneElseChangedIsNeverOverwritten) {
  ASSERT_EQ(migrate({"--batch-size", "100"}).exit_code, 0);
  auto source = open(source_uri());
  auto target = open(target_uri());
  const CollectionInfo c = source_collection(first_);
  auto in_target = target->find_collection(first_);
  ASSERT_TRUE(in_target && *in_target);
  const CollectionInfo t = **in_target;
  auto ids = source->list_ids(c, 0, 3);
  ASSERT_TRUE(ids && ids->size() == 3u);
  auto originals = source->get_records(c, *ids);
  ASSERT_TRUE(originals && originals->size() == 3u);
  std::map<std::string, Record> was;
  for (auto& r : *originals) was[r.id] = r;
  const std::string both = (*ids)[0], deleted = (*ids)[1], plain = (*ids)[2];
  auto edited = [&](const std::string& id, const std::string& by) {
    Record r = was[id];
    r.metadata["edited_by"] = by;
    return r;
  };
  // The application edits two target records; the source changes one of them and deletes the
  // other, and changes a third record nobody touched in the target.
  ASSERT_TRUE(target->upsert(t, std::vector<Record>{edited(both, "app"), edited(deleted, "app")}));
  ASSERT_TRUE(
      source->upsert(c, std::vector<Record>{edited(both, "source"), edited(plain, "source")}));
  ASSERT_TRUE(source->delete_records(c, std::vector<std::string>{deleted}));

  auto held = sync();
  EXPECT_EQ(held.exit_code, kExitConflict) << held.output;
  EXPECT_TRUE(contains(held.output, "2 change(s) not applied")) << held.output;
  auto now = target->get_records(t, std::vector<std::string>{both, deleted, plain});
  ASSERT_TRUE(now && now->size() == 3u) << "a record the application changed was deleted";
  for (const auto& r : *now) {
    const std::string expected = r.id == plain ? "source" : "app";
    EXPECT_EQ(std::get<std::string>(r.metadata.at("edited_by")), expected) << r.id;
  }
  auto m = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  ASSERT_EQ(m["syncs"].size(), 1u);
  EXPECT_EQ(m["syncs"][0]["collections"][first_]["conflicts"], 2);
  EXPECT_FALSE(m["syncs"][0]["converged"].get<bool>());

  // Still held back on the next sync: the source changes were not forgotten.
  EXPECT_EQ(sync().exit_code, kExitConflict);
  // The operator puts the run's versions back (whole: an upsert would keep the added key); the
  // next sync applies the source's changes.
  ASSERT_TRUE(target->delete_records(t, std::vector<std::string>{both, deleted}));
  ASSERT_TRUE(target->upsert(t, std::vector<Record>{was[both], was[deleted]}));
  auto resolved = sync();
  ASSERT_EQ(resolved.exit_code, 0) << resolved.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), state_of(target_uri())), "");
  EXPECT_EQ(validate().exit_code, 0);
}

}  // namespace
}  // namespace cm::testing
