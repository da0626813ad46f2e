// chroma-migrate against real servers: the target ends identical to the source and the source is
// left exactly as it was.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

TEST_F(MigrateIntegration, RoundTripOfSeveralCollectionsLargerThanOneBatch) {
  corpus::CorpusOptions o;
  o.total_records = 2400;  // 4 collections x 600: cosine, l2, ip and a tuned cosine
  o.dimension = 64;
  seed(source_uri(), o);
  auto before = state_of(source_uri());
  ASSERT_EQ(before.size(), 4u);

  auto run = migrate({"--batch-size", "250", "--workers", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  auto target = state_of(target_uri());
  EXPECT_EQ(diff_text(before, target), "");
  EXPECT_EQ(target.at("legal_clauses").info.hnsw.ef_construction, 200);
  EXPECT_EQ(target.at("legal_clauses").info.hnsw.max_neighbors, 32);
  EXPECT_EQ(target.at("product_docs").info.hnsw.space, "ip");
  EXPECT_EQ(target.at("support_tickets").info.hnsw.space, "l2");
  EXPECT_EQ(target.at("kb_articles").info.hnsw.space, "cosine");
  // The source is untouched: same collections, configurations, counts and records.
  EXPECT_EQ(diff_text(before, state_of(source_uri())), "");

  // The work dir documents the run.
  auto summary = nlohmann::json::parse(*read_file(work_dir() / "migration_summary.json"));
  EXPECT_EQ(summary["records"], 2400);
  auto manifest = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  ASSERT_EQ(manifest["target_collections"].size(), 4u);
  for (const auto& t : manifest["target_collections"]) {
    EXPECT_EQ(t["state"], "verified");
    EXPECT_EQ(t["action"], "created");
  }
  EXPECT_TRUE(std::filesystem::exists(work_dir() / "snapshots" / "source" / "manifest.json"));
}

TEST_F(MigrateIntegration, EmptyCollectionAndMetadataTypeFidelity) {
  auto store = open(source_uri());
  ASSERT_TRUE(store);
  CollectionSpec empty{"empty_one", {{"note", std::string("nothing here")}}, {}, {}};
  empty.hnsw.space = "ip";
  ASSERT_TRUE(store->create_collection(empty));
  CollectionSpec typed{
      "typed", {{"k_int", std::int64_t{7}}, {"k_float", 7.0}, {"k_bool", false}}, {}, {}};
  typed.hnsw.space = "cosine";
  auto info = store->create_collection(typed);
  ASSERT_TRUE(info) << info.error().message;
  std::vector<Record> records = {
      {"int-extremes",
       {0.5f, -0.25f, 1e-30f},
       "doc",
       {{"max", INT64_MAX}, {"min", INT64_MIN}, {"big", std::int64_t{9007199254740993}}}},
      {"floats",
       {1.0f, 2.0f, 3.0f},
       "",
       {{"one", 1.0}, {"tenth", 0.1}, {"tiny", 5e-324}, {"neg", -2.5e300}}},
      {"bools-and-strings",
       {0.1f, 0.2f, 0.3f},
       std::nullopt,
       {{"t", true},
        {"f", false},
        {"s", std::string("Zürich \"q\" \\ 東京 🚀 \n tab\t")},
        {"empty", std::string("")}}},
      {"no-metadata", {3.0f, 2.0f, 1.0f}, "日本語のドキュメント", {}},
      {"unicode id é 🚀", {0.0f, 0.0f, 1.0f}, "x", {{"n", std::int64_t{0}}}},
  };
  ASSERT_TRUE(store->upsert(*info, records));
  auto before = state_of(source_uri());

  auto run = migrate({});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto target = state_of(target_uri());
  EXPECT_EQ(diff_text(before, target), "");
  ASSERT_TRUE(target.contains("empty_one"));
  EXPECT_EQ(target.at("empty_one").count, 0u);
  EXPECT_EQ(target.at("empty_one").info.hnsw.space, "ip");
  // Types survive exactly, not just values.
  const auto& typed_records = target.at("typed").records;
  auto find = [&](const std::string& id) {
    return *std::find_if(typed_records.begin(), typed_records.end(),
                         [&](const Record& r) { return r.id == id; });
  };
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(find("int-extremes").metadata.at("big")));
  EXPECT_EQ(std::get<std::int64_t>(find("int-extremes").metadata.at("max")), INT64_MAX);
  EXPECT_TRUE(std::holds_alternative<double>(find("floats").metadata.at("one")));
  EXPECT_TRUE(std::holds_alternative<bool>(find("bools-and-strings").metadata.at("f")));
  EXPECT_FALSE(find("bools-and-strings").document.has_value());
  EXPECT_EQ(find("floats").document, std::optional<std::string>(""));
  EXPECT_TRUE(std::holds_alternative<double>(target.at("typed").info.metadata.at("k_float")));
}

TEST_F(MigrateIntegration, SnapshotDirectoryWorksAsTargetAndAsSource) {
  corpus::CorpusOptions o;
  o.total_records = 600;
  o.collections = 2;
  o.dimension = 16;
  seed(source_uri(), o);
  auto before = state_of(source_uri());
  auto snapshot_dir = dir_ / "offline-copy";
  // Server -> snapshot directory.
  auto to_snapshot =
      run_process(CHROMA_MIGRATE_BIN,
                  {"--source", source_uri(), "--target", "snapshot:" + snapshot_dir.string(),
                   "--work-dir", (dir_ / "w1").string(), "--batch-size", "100"});
  ASSERT_EQ(to_snapshot.exit_code, 0) << to_snapshot.output;
  EXPECT_EQ(diff_text(before, state_of("snapshot:" + snapshot_dir.string())), "");
  // Snapshot directory -> a fresh database on the target server.
  auto from_snapshot =
      run_process(CHROMA_MIGRATE_BIN, {"--source", "snapshot:" + snapshot_dir.string(), "--target",
                                       target_uri("restored"), "--work-dir", (dir_ / "w2").string(),
                                       "--batch-size", "100"});
  ASSERT_EQ(from_snapshot.exit_code, 0) << from_snapshot.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri("restored"))), "");
}

// --source-rate paces the source reads (a production server keeps serving): 600 records at 1000
// per second cannot be exported in less than 0.5 s after the first batch of 100, however fast the
// machine; the target still equals the source. (A lower bound only: a slow machine just takes
// longer, so this cannot flake on load.)
TEST_F(MigrateIntegration, SourceRateBoundsTheExportAndChangesNothingElse) {
  corpus::CorpusOptions o;
  o.total_records = 600;
  o.collections = 2;
  o.dimension = 16;
  seed(source_uri(), o);
  const auto before = state_of(source_uri());
  auto run = migrate({"--batch-size", "100", "--source-rate", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri())), "");
  auto summary = read_file(work_dir() / "migration_summary.json");
  ASSERT_TRUE(summary);
  const double export_seconds = nlohmann::json::parse(*summary)["phase_seconds"]["export"];
  EXPECT_GE(export_seconds, 0.45) << "600 records at 1000/s, the first 100 at once";
  // A sync reads every source record again: paced the same way.
  const auto sync_start = std::chrono::steady_clock::now();
  auto sync = run_process(CHROMA_MIGRATE_BIN,
                          {"--sync", "--work-dir", work_dir().string(), "--source-rate", "1000"});
  const std::chrono::duration<double> sync_seconds = std::chrono::steady_clock::now() - sync_start;
  EXPECT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_GE(sync_seconds.count(), 0.45) << "600 records read again at 1000/s";
  auto bad = migrate({"--source-rate", "-5"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

}  // namespace
}  // namespace cm::testing
