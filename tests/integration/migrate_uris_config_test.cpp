// Records keep every field Chroma stores and collections keep their whole configuration, against
// real servers: uris (some null, one empty) and configuration.embedding_function migrate
// server -> server and snapshot -> server intact, and chroma-validate passes the intact copy but
// FAILS when a uri is changed or dropped in the target, or when the target collection's
// embedding_function differs from the planned one.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

const nlohmann::json kEmbeddingFunction = {
    {"type", "known"},
    {"name", "openai"},
    {"config", {{"api_key_env_var", "OPENAI_API_KEY"}, {"model_name", "text-embedding-3-small"}}}};

struct Validation {
  ProcessResult process;
  nlohmann::json report;
  const nlohmann::json* test(const std::string& name) const {
    for (const auto& t : report["tests"]) {
      if (t["name"] == name) return &t;
    }
    return nullptr;
  }
  std::string status(const std::string& name) const {
    const auto* t = test(name);
    return t ? (*t)["status"].get<std::string>() : "(no such test)";
  }
  bool finding_contains(const std::string& name, const std::string& text) const {
    const auto* t = test(name);
    if (!t) return false;
    for (const auto& f : (*t)["findings"]) {
      if (f.get<std::string>().find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string why() const { return process.output + "\n" + report.dump(2); }
};

class UrisAndConfiguration : public MigrateIntegration {
 protected:
  // "media": cosine, an embedding function, 40 records of which every third has no uri and one has
  // an empty uri; "plain": l2, no embedding function, no uris at all.
  void seed_source() {
    auto store = open(source_uri());
    ASSERT_TRUE(store);
    CollectionSpec media{"media", {{"owner", std::string("assets")}}, {}, {}};
    media.hnsw.space = "cosine";
    media.hnsw.ef_search = 64;
    media.configuration = {{"hnsw", hnsw_to_json(media.hnsw)},
                           {"embedding_function", kEmbeddingFunction}};
    auto info = store->create_collection(media);
    ASSERT_TRUE(info) << info.error().message;
    ASSERT_EQ(info->configuration["embedding_function"], kEmbeddingFunction)
        << info->configuration.dump();
    std::vector<Record> records;
    for (int i = 0; i < 40; ++i) {
      Record r;
      r.id = "m-" + std::to_string(i);
      r.embedding = {1.0f + static_cast<float>(i), 0.5f, -0.25f * static_cast<float>(i), 2.0f};
      if (i % 2 == 0) r.document = "caption " + std::to_string(i);
      r.metadata = {{"i", std::int64_t{i}}};
      if (i % 3 != 0) r.uri = "s3://assets/images/" + std::to_string(i) + ".png";
      records.push_back(std::move(r));
    }
    records[1].uri = "";
    ASSERT_TRUE(store->upsert(*info, records));
    CollectionSpec plain{"plain", {}, {}, {}};
    auto plain_info = store->create_collection(plain);
    ASSERT_TRUE(plain_info) << plain_info.error().message;
    std::vector<Record> plain_records;
    for (int i = 0; i < 10; ++i) {
      plain_records.push_back(
          {"p-" + std::to_string(i), {0.25f * static_cast<float>(i), 1.0f, 3.0f, -1.0f}, {}, {}});
    }
    ASSERT_TRUE(store->upsert(*plain_info, plain_records));
  }

  Validation validate() {
    Validation v;
    v.process =
        run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work_dir().string(), "--sample", "10"});
    auto text = read_file(work_dir() / "validation_report.json");
    if (text) v.report = nlohmann::json::parse(*text);
    return v;
  }

  CollectionInfo collection(VectorStore& store, const std::string& name) {
    auto info = store.find_collection(name);
    EXPECT_TRUE(info && *info) << name;
    return info && *info ? **info : CollectionInfo{};
  }

  Record record(VectorStore& store, const CollectionInfo& c, const std::string& id) {
    auto got = store.get_records(c, std::vector<std::string>{id});
    EXPECT_TRUE(got && got->size() == 1u) << id;
    return got && got->size() == 1u ? got->front() : Record{};
  }
};

TEST_F(UrisAndConfiguration, ServerToServerKeepsUrisAndTheEmbeddingFunctionAndValidates) {
  seed_source();
  auto before = state_of(source_uri());
  const auto& source_records = before.at("media").records;
  ASSERT_EQ(std::count_if(source_records.begin(), source_records.end(),
                          [](const Record& r) { return r.uri.has_value(); }),
            26)  // 40 - 14 multiples of 3 (0..39)
      << "the source server must hold the uris for this test to mean anything";
  auto run = migrate({"--batch-size", "15"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto after = state_of(target_uri());
  EXPECT_EQ(diff_text(before, after), "");  // uris and the whole configuration included

  auto target = open(target_uri());
  const CollectionInfo media = collection(*target, "media");
  EXPECT_EQ(media.configuration["embedding_function"], kEmbeddingFunction)
      << media.configuration.dump();
  EXPECT_EQ(media.hnsw.ef_search, 64);
  EXPECT_EQ(record(*target, media, "m-2").uri,
            std::optional<std::string>("s3://assets/images/2.png"));
  EXPECT_EQ(record(*target, media, "m-1").uri, std::optional<std::string>(""));
  EXPECT_FALSE(record(*target, media, "m-3").uri.has_value());

  // The export snapshot holds the uris and the configuration too.
  auto snapshot = nlohmann::json::parse(*read_file(work_dir() / "snapshots" / "source" /
                                                   "collections" / "media" / "collection.json"));
  EXPECT_EQ(snapshot["configuration"]["embedding_function"], kEmbeddingFunction);
  auto manifest =
      nlohmann::json::parse(*read_file(work_dir() / "snapshots" / "source" / "manifest.json"));
  EXPECT_EQ(manifest["format_version"], 2);
  EXPECT_EQ(manifest["generation"], 0);

  auto intact = validate();
  ASSERT_EQ(intact.process.exit_code, 0) << intact.why();
  EXPECT_EQ(intact.status("metadata_completeness"), "PASSED");
  EXPECT_EQ(intact.status("embedding_integrity"), "PASSED");

  // A changed uri fails validation.
  Record changed = record(*target, media, "m-2");
  changed.uri = "s3://assets/images/other.png";
  ASSERT_TRUE(target->upsert(media, std::span(&changed, 1)));
  auto v = validate();
  EXPECT_EQ(v.process.exit_code, 2) << v.why();
  EXPECT_EQ(v.report["overall_status"], "FAILED");
  EXPECT_EQ(v.status("metadata_completeness"), "FAILED") << v.why();
  EXPECT_TRUE(v.finding_contains("metadata_completeness", "media: uri changed in 1 record"))
      << v.why();

  // A dropped uri (the record re-added without one: Chroma keeps a uri an upsert leaves null)
  // fails as "missing".
  Record dropped = record(*target, media, "m-4");
  ASSERT_TRUE(target->delete_records(media, std::vector<std::string>{"m-4"}));
  dropped.uri.reset();
  ASSERT_TRUE(target->upsert(media, std::span(&dropped, 1)));
  EXPECT_FALSE(record(*target, media, "m-4").uri.has_value());
  auto missing = validate();
  EXPECT_EQ(missing.process.exit_code, 2) << missing.why();
  EXPECT_TRUE(missing.finding_contains("metadata_completeness", "media: uri missing in 1 record"))
      << missing.why();
}

TEST_F(UrisAndConfiguration, SnapshotToServerKeepsUrisAndTheEmbeddingFunction) {
  seed_source();
  auto before = state_of(source_uri());
  const auto snapshot_dir = dir_ / "offline";
  auto to_snapshot =
      run_process(CHROMA_MIGRATE_BIN,
                  {"--source", source_uri(), "--target", "snapshot:" + snapshot_dir.string(),
                   "--work-dir", (dir_ / "w1").string(), "--batch-size", "15"});
  ASSERT_EQ(to_snapshot.exit_code, 0) << to_snapshot.output;
  EXPECT_EQ(diff_text(before, state_of("snapshot:" + snapshot_dir.string())), "");
  auto from_snapshot =
      run_process(CHROMA_MIGRATE_BIN, {"--source", "snapshot:" + snapshot_dir.string(), "--target",
                                       target_uri("restored"), "--work-dir", (dir_ / "w2").string(),
                                       "--batch-size", "15"});
  ASSERT_EQ(from_snapshot.exit_code, 0) << from_snapshot.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri("restored"))), "");
  auto target = open(target_uri("restored"));
  const CollectionInfo media = collection(*target, "media");
  EXPECT_EQ(media.configuration["embedding_function"], kEmbeddingFunction);
  EXPECT_EQ(record(*target, media, "m-5").uri,
            std::optional<std::string>("s3://assets/images/5.png"));
}

TEST_F(UrisAndConfiguration, AnotherEmbeddingFunctionOnTheTargetFailsValidation) {
  seed_source();
  auto run = migrate({});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(validate().process.exit_code, 0);
  // Recreate the target collection with every record but without its embedding function.
  auto target = open(target_uri());
  const CollectionInfo media = collection(*target, "media");
  auto state = capture_state(*target, {"media"});
  ASSERT_TRUE(state);
  ASSERT_TRUE(target->delete_collection("media"));
  CollectionSpec spec{"media", media.metadata, media.hnsw, {}};
  auto created = target->create_collection(spec);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(created->configuration["embedding_function"].is_null());
  ASSERT_TRUE(target->upsert(*created, state->at("media").records));
  auto v = validate();
  EXPECT_EQ(v.process.exit_code, 2) << v.why();
  EXPECT_EQ(v.status("embedding_integrity"), "FAILED") << v.why();
  EXPECT_TRUE(
      v.finding_contains("embedding_integrity",
                         "media: configuration differs from the planned one: embedding_function"))
      << v.why();
  EXPECT_EQ(v.status("metadata_completeness"), "PASSED") << v.why();
}

// Two source collections with different embedding functions merged into one target: the mapping
// must say which function the target gets (refused with exit 2 before anything is written
// otherwise); with it declared, the target carries it and validates PASSED.
TEST_F(UrisAndConfiguration, MergedSourcesWithDifferentEmbeddingFunctionsNeedADeclaredOne) {
  seed_source();
  auto source = open(source_uri());
  CollectionSpec captions{"captions", {}, {}, {}};
  captions.hnsw.space = "cosine";
  auto info = source->create_collection(captions);
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(source->upsert(
      *info, std::vector<Record>{{"c-0", {1.0f, 2.0f, 3.0f, 4.0f}, "a caption", {}}}));
  nlohmann::json mapping = {{"mapping_version", 1},
                            {"targets", {{"all_media", {{"space", "cosine"}}}}},
                            {"routes", {{{"from", {"media", "captions"}}, {"to", "all_media"}}}}};
  const auto file = dir_ / "mapping.json";
  auto write = [&] { ASSERT_TRUE(write_file_atomic(file, mapping.dump())); };
  write();
  auto refused = migrate({"--mapping", file.string()});
  EXPECT_EQ(refused.exit_code, kExitUsage) << refused.output;
  EXPECT_NE(refused.output.find("disagree on the embedding function"), std::string::npos)
      << refused.output;
  EXPECT_TRUE(state_of(target_uri()).empty());

  mapping["targets"]["all_media"]["embedding_function"] = kEmbeddingFunction;
  write();
  auto run = migrate({"--mapping", file.string()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto target = open(target_uri());
  EXPECT_EQ(collection(*target, "all_media").configuration["embedding_function"],
            kEmbeddingFunction);
  auto v = validate();
  EXPECT_EQ(v.process.exit_code, 0) << v.why();
}

// A replaced collection with uris and an embedding function is backed up and, rolled back, comes
// back exactly: every uri (null, empty, set) and the whole configuration.
TEST_F(UrisAndConfiguration, RollbackRestoresUrisAndTheConfigurationFromTheBackup) {
  seed_source();
  // The target already holds "media" with other uris and the embedding function.
  auto target = open(target_uri());
  CollectionSpec media{"media", {{"owner", std::string("old")}}, {}, {}};
  media.hnsw.space = "cosine";
  media.configuration = {{"hnsw", hnsw_to_json(media.hnsw)},
                         {"embedding_function", kEmbeddingFunction}};
  auto info = target->create_collection(media);
  ASSERT_TRUE(info) << info.error().message;
  std::vector<Record> old;
  for (int i = 0; i < 12; ++i) {
    Record r{"m-" + std::to_string(i), {0.5f, 1.0f + static_cast<float>(i), 2.0f, 0.25f}, {}, {}};
    if (i % 3 == 1) r.uri = "file:///old/" + std::to_string(i);
    if (i == 2) r.uri = "";
    old.push_back(std::move(r));
  }
  ASSERT_TRUE(target->upsert(*info, old));
  const StoreState before = state_of(target_uri());
  auto run = migrate({"--if-exists", "replace"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rolled = run_process(CHROMA_ROLLBACK_BIN,
                            {"--work-dir", work_dir().string(), "--force", "--reason", "test"});
  ASSERT_EQ(rolled.exit_code, 0) << rolled.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri()), /*ignore_ledger_keys=*/false), "");
  EXPECT_EQ(collection(*target, "media").configuration["embedding_function"], kEmbeddingFunction);
  EXPECT_EQ(record(*target, collection(*target, "media"), "m-1").uri, "file:///old/1");
  EXPECT_EQ(record(*target, collection(*target, "media"), "m-2").uri, "");
  EXPECT_EQ(record(*target, collection(*target, "media"), "m-0").uri, std::nullopt);
}

}  // namespace
}  // namespace cm::testing
