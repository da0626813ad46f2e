// The conformance suite's fixture and helpers (tests/support/store_conformance.hpp); the checks
// themselves are in store_conformance_checks.cpp.
#include "tests/support/store_conformance.hpp"

#include <algorithm>
#include <random>

#include "tests/support/chroma_server.hpp"

namespace cm::testing {
namespace {

FixtureCollection fixture(const std::string& name, const std::string& space,
                          std::vector<Record> records, int sync_threshold = 1000) {
  FixtureCollection out{conformance_spec(name, space), std::move(records)};
  out.spec.hnsw.sync_threshold = sync_threshold;
  return out;
}

}  // namespace

std::string store_factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

std::vector<Record> conformance_records(int n, float salt) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.id = "id-" + std::to_string(i);
    r.embedding = {static_cast<float>(i) + salt, 0.5f, -1.25f};
    if (i % 3 != 0) r.document = "doc " + std::to_string(i);
    r.metadata = {
        {"i", std::int64_t{i}}, {"f", i * 0.5}, {"b", i % 2 == 0}, {"s", std::string("x")}};
    out.push_back(std::move(r));
  }
  return out;
}

CollectionSpec conformance_spec(const std::string& name, const std::string& space) {
  CollectionSpec spec{name, {{"team", std::string("search")}, {"v", std::int64_t{2}}}, {}, {}};
  spec.hnsw.space = space;
  spec.hnsw.ef_construction = 150;
  return spec;
}

std::vector<Record> uri_records() {
  auto batch = conformance_records(6);
  batch[0].uri = "s3://bucket/images/0.png";
  batch[1].uri = "";
  batch[2].uri = "https://example.org/\u00e9t\u00e9?q=1&x=\"2\"";
  batch[4].uri = std::string(300, 'u');
  return batch;
}

CollectionSpec embedding_function_spec() {
  const nlohmann::json ef = {
      {"type", "known"},
      {"name", "openai"},
      {"config",
       {{"api_key_env_var", "OPENAI_API_KEY"}, {"model_name", "text-embedding-3-small"}}}};
  CollectionSpec spec{"efconf", {}, {}, {}};
  spec.hnsw.space = "cosine";
  spec.hnsw.ef_search = 64;
  spec.configuration = {{"hnsw", hnsw_to_json(spec.hnsw)}, {"embedding_function", ef}};
  return spec;
}

std::vector<Record> query_records() {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Record> data(60);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i].id = "q-" + std::to_string(i);
    data[i].embedding.resize(8);
    for (auto& x : data[i].embedding) x = normal(rng);
  }
  return data;
}

std::vector<FixtureCollection> read_only_fixture() {
  std::vector<FixtureCollection> out;
  out.push_back(fixture("alpha", "cosine", {}));
  out.push_back(fixture("beta", "l2", {}));
  out.push_back(fixture("gamma", "l2", conformance_records(25), 10));  // vectors in HNSW files
  out.push_back(fixture("epsilon", "l2", conformance_records(23)));    // vectors in the queue
  out.push_back(fixture("uris", "l2", uri_records()));
  out.push_back({embedding_function_spec(), {}});
  out.push_back(fixture("eta", "l2", {}));
  const auto data = query_records();
  for (const std::string space : {"l2", "cosine", "ip"}) {
    out.push_back(fixture("query_" + space, space, data, 10));
    out.push_back(fixture("small_" + space, space, {data.begin(), data.begin() + 3}));
  }
  return out;
}

Status write_read_only_fixture(VectorStore& store) {
  for (const auto& c : read_only_fixture()) {
    CM_ASSIGN_OR_RETURN(auto info, store.create_collection(c.spec));
    if (!c.records.empty()) CM_RETURN_IF_ERROR(store.upsert(info, c.records));
  }
  return store.flush();
}

void StoreConformance::SetUp() {
  ASSERT_TRUE(GetParam().open);
  dir_ = make_temp_dir("conformance");
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  test = test.substr(0, test.find('/'));
  auto store = GetParam().open(test + "_" + GetParam().name, dir_);
  ASSERT_TRUE(store) << store.error().message;
  store_ = std::move(*store);
}

void StoreConformance::TearDown() {
  store_.reset();
  std::filesystem::remove_all(dir_);
}

bool StoreConformance::ends_with_refusal(const Status& status) {
  if (!read_only()) {
    EXPECT_TRUE(status) << status.error().message;
    return false;
  }
  EXPECT_FALSE(status) << "a read-only store accepted a write";
  // The store's own refusal, or the factory's read-only guard around a source (which calls a
  // write reaching it a bug).
  if (!status) {
    EXPECT_TRUE(status.error().code == ErrorCode::kInvalidArgument ||
                status.error().code == ErrorCode::kInternal)
        << status.error().message;
  }
  return true;
}

CollectionInfo StoreConformance::create(const std::string& name, const std::string& space) {
  auto info = store_->create_collection(conformance_spec(name, space));
  if (read_only()) {
    EXPECT_FALSE(info) << "a read-only store created " << name;
    auto found = store_->find_collection(name);
    EXPECT_TRUE(found && *found) << "the fixture has no collection " << name;
    return found && *found ? **found : CollectionInfo{};
  }
  EXPECT_TRUE(info) << info.error().message;
  return info ? *info : CollectionInfo{};
}

void StoreConformance::put(const CollectionInfo& c, std::span<const Record> records) {
  if (ends_with_refusal(store_->upsert(c, records))) return;
  EXPECT_TRUE(store_->flush());
}

std::vector<Record> StoreConformance::records(int n, float salt) {
  return conformance_records(n, salt);
}

std::vector<Record> StoreConformance::all(const CollectionInfo& c, int expected) {
  std::vector<std::string> ids;
  for (int i = 0; i < expected; ++i) ids.push_back("id-" + std::to_string(i));
  auto got = store_->get_records(c, ids);
  EXPECT_TRUE(got) << got.error().message;
  auto out = got ? *got : std::vector<Record>{};
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  return out;
}

}  // namespace cm::testing
