// ChromaHttpStore against a real, throw-away Chroma server (tests/support/chroma_server.hpp).
#include "common/chroma/chroma_http_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <random>
#include <set>

#include "common/chroma/chroma_wire.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

class ChromaHttpStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::ChromaServer::start();
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    store_ = open(server_->url());
  }

  static std::unique_ptr<ChromaHttpStore> open(const std::string& url,
                                               ChromaHttpStoreOptions options = {}) {
    auto uri = parse_store_uri(url);
    EXPECT_TRUE(uri) << uri.error().message;
    auto store = ChromaHttpStore::open(*uri, options);
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }

  CollectionInfo create(const std::string& name, HnswConfig hnsw = {}) {
    auto made = store_->create_collection(CollectionSpec{name, {}, hnsw});
    EXPECT_TRUE(made) << made.error().message;
    return made ? *made : CollectionInfo{};
  }

  static std::vector<Record> random_records(int n, int dim, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist;
    std::vector<Record> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto& r = out[static_cast<std::size_t>(i)];
      r.id = "id-" + std::to_string(i);
      for (int k = 0; k < dim; ++k)
        r.embedding.push_back(dist(rng) * 1e-3f * static_cast<float>(k + 1));
      r.document = "doc " + std::to_string(i);
    }
    return out;
  }

  static void expect_same_records(std::vector<Record> got, std::vector<Record> want) {
    auto by_id = [](const Record& a, const Record& b) { return a.id < b.id; };
    std::sort(got.begin(), got.end(), by_id);
    std::sort(want.begin(), want.end(), by_id);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].id, want[i].id);
      ASSERT_EQ(got[i].embedding.size(), want[i].embedding.size());
      for (std::size_t k = 0; k < got[i].embedding.size(); ++k) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i].embedding[k]),
                  std::bit_cast<std::uint32_t>(want[i].embedding[k]))
            << got[i].id << "[" << k << "]";
      }
      EXPECT_EQ(got[i].document, want[i].document) << got[i].id;
      EXPECT_EQ(got[i].metadata, want[i].metadata) << got[i].id;
    }
  }

  std::unique_ptr<testing::ChromaServer> server_;
  std::unique_ptr<ChromaHttpStore> store_;
};

TEST_F(ChromaHttpStoreTest, CreateReadsBackHnswConfigAndRefusesDuplicates) {
  HnswConfig hnsw{"cosine", 123, 50, 12, 1.5, 500};
  auto made =
      store_->create_collection(CollectionSpec{"cfg-test", {{"owner", std::string("me")}}, hnsw});
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(made->hnsw, hnsw);
  EXPECT_FALSE(made->id.empty());
  auto found = store_->find_collection("cfg-test");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->hnsw, hnsw);
  EXPECT_EQ((*found)->id, made->id);
  EXPECT_EQ((*found)->metadata, (Metadata{{"owner", std::string("me")}}));
  EXPECT_EQ((*found)->dimension, std::nullopt);
  EXPECT_TRUE((*found)->configuration.contains("hnsw"));

  auto dup = store_->create_collection(CollectionSpec{"cfg-test", {}, HnswConfig()});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists) << dup.error().message;

  auto missing = store_->find_collection("no-such-collection");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  auto bad = store_->create_collection(CollectionSpec{"x", {}, HnswConfig()});  // name too short
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kRejected);
  EXPECT_EQ(bad.error().http_status, 400);
}

TEST_F(ChromaHttpStoreTest, Base64AndFloatUpsertsReadBackBitIdentical) {
  auto limits = store_->limits();
  ASSERT_TRUE(limits) << limits.error().message;
  ASSERT_TRUE(limits->supports_base64);  // so this server exercises the base64 path
  auto base64_coll = create("b64-coll");
  auto records = random_records(300, 64, 1);
  records[0].embedding[0] = 1e-45f;  // subnormal
  records[0].embedding[1] = -0.0f;
  records[0].embedding[2] = std::numeric_limits<float>::max();
  records[0].embedding[3] = 0.1f;
  ASSERT_TRUE(store_->upsert(base64_coll, records));
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.id);
  auto got = store_->get_records(base64_coll, ids);
  ASSERT_TRUE(got) << got.error().message;
  expect_same_records(*got, records);

  // The decimal path, through the raw HTTP API (this store always picks base64 here).
  auto float_coll = create("float-coll");
  HttpClient http(server_->url());
  std::string body = encode_upsert_body(records, /*base64=*/false);
  auto sent =
      http.request("POST",
                   "/api/v2/tenants/default_tenant/databases/default_database/collections/" +
                       float_coll.id + "/upsert",
                   body);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(sent->status, 200) << sent->body;
  auto got_float = store_->get_records(float_coll, ids);
  ASSERT_TRUE(got_float) << got_float.error().message;
  expect_same_records(*got_float, records);
}

TEST_F(ChromaHttpStoreTest, MetadataTypesAndDocumentsRoundTrip) {
  auto coll = create("meta-coll");
  std::vector<Record> records(4);
  records[0] = {"m0",
                {1, 2},
                "plain",
                {{"i", std::int64_t{1}},
                 {"f", 1.0},
                 {"b", true},
                 {"s", std::string("1")},
                 {"big", std::int64_t{9007199254740993}},
                 {"neg", std::int64_t{-42}},
                 {"pi", 3.141592653589793}}};
  records[1] = {
      "m1-日本", {3, 4}, "héllo \"q\" \\ \n\t\x01 😀 日本", {{"kéy", std::string("välue 😀")}}};
  records[2] = {"m2", {5, 6}, "", {}};
  records[3] = {"m3", {7, 8}, std::nullopt, {{"bf", false}}};
  ASSERT_TRUE(store_->upsert(coll, records));
  auto got = store_->get_records(coll, std::vector<std::string>{"m0", "m1-日本", "m2", "m3"});
  ASSERT_TRUE(got) << got.error().message;
  expect_same_records(*got, records);
}

TEST_F(ChromaHttpStoreTest, ListIdsPagesCoverEveryIdAndGetOmitsUnknownIds) {
  auto coll = create("page-coll");
  auto records = random_records(257, 8, 2);
  ASSERT_TRUE(store_->upsert(coll, records));
  auto n = store_->count(coll);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 257u);
  std::set<std::string> seen;
  for (std::uint64_t offset = 0;; offset += 50) {
    auto page = store_->list_ids(coll, offset, 50);
    ASSERT_TRUE(page) << page.error().message;
    for (auto& id : *page) EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    if (page->size() < 50) break;
  }
  EXPECT_EQ(seen.size(), 257u);

  auto got = store_->get_records(coll, std::vector<std::string>{"id-3", "nope", "id-200"});
  ASSERT_TRUE(got) << got.error().message;
  std::set<std::string> got_ids;
  for (const auto& r : *got) got_ids.insert(r.id);
  EXPECT_EQ(got_ids, (std::set<std::string>{"id-3", "id-200"}));
}

TEST_F(ChromaHttpStoreTest, DeleteRecordsCountAndCollections) {
  auto coll = create("del-coll");
  auto records = random_records(20, 4, 3);
  ASSERT_TRUE(store_->upsert(coll, records));
  ASSERT_TRUE(store_->delete_records(coll, std::vector<std::string>{"id-0", "id-1", "unknown"}));
  auto n = store_->count(coll);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 18u);
  ASSERT_TRUE(store_->delete_records(coll, {}));  // no-op, not "delete everything"
  EXPECT_EQ(*store_->count(coll), 18u);

  auto found = store_->find_collection("del-coll");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->dimension, 4);

  create("other-coll");
  auto all = store_->list_collections();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 2u);
  ASSERT_TRUE(store_->delete_collection("del-coll"));
  auto gone = store_->find_collection("del-coll");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  auto again = store_->delete_collection("del-coll");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->list_collections()->size(), 1u);
}

TEST_F(ChromaHttpStoreTest, EnsureDatabaseCreatesANonDefaultDatabase) {
  auto store = open(server_->url() + "?database=migrated_db");
  ASSERT_TRUE(store->ensure_database());
  ASSERT_TRUE(store->ensure_database());  // idempotent
  auto made = store->create_collection(CollectionSpec{"in-other-db", {}, HnswConfig()});
  ASSERT_TRUE(made) << made.error().message;
  auto other = store->list_collections();
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].name, "in-other-db");
  auto default_db = store_->list_collections();
  ASSERT_TRUE(default_db);
  EXPECT_TRUE(default_db->empty());
  EXPECT_EQ(store->describe(), server_->url() + "?tenant=default_tenant&database=migrated_db");
}

// A batch of long documents over the real server's 40 MiB request-body limit: sent as it is, the
// server answers 413 and the store splits it; with the body limit known (the default), it is split
// before sending. Either way every record lands once, as written.
TEST_F(ChromaHttpStoreTest, ABatchOverTheBodyLimitLandsInParts) {
  auto records = random_records(900, 8, 11);
  for (auto& r : records)
    r.document = std::string(50'000, 'a' + static_cast<char>(r.id.size() % 26));
  ChromaHttpStoreOptions unlimited;
  unlimited.max_request_bytes = std::numeric_limits<std::size_t>::max();
  auto refused_first = open(server_->url(), unlimited);
  const auto c1 = create("over_limit_413");
  ASSERT_TRUE(refused_first->upsert(c1, records));
  EXPECT_LT(refused_first->upsert_request_cap(), 900u) << "the server's 413 lowered the cap";
  EXPECT_EQ(*store_->count(c1), 900u);

  const auto c2 = create("over_limit_presplit");
  ASSERT_TRUE(store_->upsert(c2, records));
  EXPECT_LT(store_->upsert_request_cap(), 900u);
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.id);
  auto got = store_->get_records(c2, ids);
  ASSERT_TRUE(got) << got.error().message;
  expect_same_records(*got, records);
}

}  // namespace
}  // namespace cm
