// SYNTHETIC Chroma 0.4.14 / 0.4.24 / 0.5.3 / 0.5.5 / 0.6.3 persist directories
// (tests/data/persist/synthetic-0.x.tar.gz, written by make_synthetic.py beside it from Chroma's
// published schema migrations; no 0.x server can run here, see that file) read by PersistStore:
// every tenant, database and collection reads back exactly as <version>.expected.json says
// (documents, typed metadata, vectors: l2/ip bit-exact, cosine within 4 float32 ulps), through the
// 0.x paths: BLOB seq ids, the pickled PersistentData's position, topics, legacy hnsw:space keys,
// hnsw_configuration, a purged queue; and each directory is healthy.
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/persist/persist_store.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/files.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// How far apart two floats are in float32 ulps (same sign assumed; the test's values are).
std::int64_t ulps(float a, float b) {
  return std::llabs(static_cast<std::int64_t>(std::bit_cast<std::int32_t>(a)) -
                    std::bit_cast<std::int32_t>(b));
}

// "kind:value" of a metadata value, so an int read as a float (or a bool as an int) differs.
std::string typed(const MetaValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return "str:" + x;
        if constexpr (std::is_same_v<T, bool>) return x ? "bool:true" : "bool:false";
        if constexpr (std::is_same_v<T, std::int64_t>) return "int:" + std::to_string(x);
        if constexpr (std::is_same_v<T, double>) return "float:" + json(x).dump();
      },
      v);
}
std::string typed(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "bool:true" : "bool:false";
  if (v.is_number_integer()) return "int:" + std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) return "float:" + json(v.get<double>()).dump();
  return "str:" + v.get<std::string>();
}

class PersistSyntheticTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::make_temp_dir("persist-synthetic"));
    auto tar = testing::run_process(
        "/bin/tar", {"-xzf", (persist_test::data_dir() / "synthetic-0.x.tar.gz").string(), "-C",
                     dir_->string()});
    ASSERT_EQ(tar.exit_code, 0) << tar.output;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* PersistSyntheticTest::dir_ = nullptr;

void expect_collection(PersistStore& store, const std::string& where, const std::string& name,
                       const json& expected) {
  SCOPED_TRACE(where + "/" + name);
  auto info = store.find_collection(name);
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->hnsw.space, expected["space"].get<std::string>());
  const auto& records = expected["records"];
  auto n = store.count(**info);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, records.size());
  auto ids = store.list_ids(**info, 0, 1000);
  ASSERT_TRUE(ids);
  auto got = store.get_records(**info, *ids);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), records.size());
  const bool cosine = expected["space"] == "cosine";
  for (const auto& r : *got) {
    ASSERT_TRUE(records.contains(r.id)) << r.id;
    const auto& e = records[r.id];
    EXPECT_EQ(r.document, std::optional<std::string>(e["document"].get<std::string>())) << r.id;
    std::map<std::string, std::string> want, have;
    for (const auto& [k, v] : e["metadata"].items()) want[k] = typed(v);
    for (const auto& [k, v] : r.metadata) have[k] = typed(v);
    EXPECT_EQ(have, want) << r.id;
    const auto vector = e["embedding"].get<std::vector<float>>();
    ASSERT_EQ(r.embedding.size(), vector.size()) << r.id;
    for (std::size_t i = 0; i < vector.size(); ++i) {
      EXPECT_LE(ulps(r.embedding[i], vector[i]), cosine ? 4 : 0) << r.id << "[" << i << "]";
    }
  }
  auto health = store.health(**info);
  ASSERT_TRUE(health) << health.error().message;
  EXPECT_TRUE(health->recoverable());
  EXPECT_TRUE(health->damage.empty()) << health->damage.front();
  if (name == "fresh") {
    EXPECT_EQ(health->segment_vectors, 0u);
    EXPECT_EQ(health->vectors_in_queue, 5u);
  } else {
    EXPECT_EQ(health->segment_vectors, 19u) << "20 adds, one deleted";
    EXPECT_EQ(health->deleted_labels, 1u);
    // 0.x wrote the SQLite metadata segment at once: the newest records are there, only their
    // vectors (5 adds, an upsert) wait in the queue.
    EXPECT_EQ(health->queue_only_records, 0u);
    EXPECT_EQ(health->vectors_in_queue, 6u);
  }
}

TEST_P(PersistSyntheticTest, ReadsBackAsWritten) {
  const fs::path persist = *dir_ / GetParam();
  std::ifstream in(*dir_ / (GetParam() + ".expected.json"));
  const json expected = json::parse(in);
  const auto before = testing::directory_digest(persist);
  auto store = PersistStore::open(persist, {.tenant = "", .scratch_parent = *dir_ / "scratch"});
  ASSERT_TRUE(store) << store.error().message;
  auto databases = (*store)->databases();
  ASSERT_TRUE(databases);
  ASSERT_EQ(databases->size(), expected.size());
  for (const auto& d : *databases) {
    const std::string where = d.tenant + "/" + d.database;
    ASSERT_TRUE(expected.contains(where)) << where;
    auto db = (*store)->open_database(d.tenant, d.database);
    ASSERT_TRUE(db) << db.error().message;
    auto collections = (*db)->list_collections();
    ASSERT_TRUE(collections);
    EXPECT_EQ(collections->size(), expected[where].size());
    for (const auto& [name, contents] : expected[where].items()) {
      expect_collection(**db, where, name, contents);
    }
  }
  auto folders = (*store)->orphan_segment_folders();
  ASSERT_TRUE(folders);
  EXPECT_TRUE(folders->empty());
  store->reset();
  EXPECT_EQ(testing::directory_digest(persist), before);
}

INSTANTIATE_TEST_SUITE_P(Synthetic, PersistSyntheticTest,
                         ::testing::Values("0.4.14", "0.4.24", "0.5.3", "0.5.5", "0.6.3"),
                         [](const auto& param_info) {
                           std::string name = "v" + param_info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

}  // namespace
}  // namespace cm
