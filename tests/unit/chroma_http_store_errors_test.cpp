// ChromaHttpStore against a scripted fake server: status mapping, headers, request shapes, and
// the splitting of requests refused as too large.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/chroma/chroma_http_store.hpp"
#include "common/chroma/request_split.hpp"
#include "tests/support/fake_http_server.hpp"

namespace cm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::FakeHttpServer;

const char* kCollectionsPath =
    "/api/v2/tenants/default_tenant/databases/default_database/collections";

CannedResponse answer(int status, std::string body) {
  return CannedResponse{status, std::move(body), milliseconds(0), false};
}

std::string collection_json(const std::string& name) {
  return R"({"id":"id-)" + name + R"(","name":")" + name +
         R"(","configuration_json":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,)"
         R"("max_neighbors":16,"resize_factor":1.2,"sync_threshold":1000}},"metadata":null,)"
         R"("dimension":null})";
}

std::unique_ptr<ChromaHttpStore> open_store(const FakeHttpServer& server,
                                            ChromaHttpStoreOptions options = {}) {
  auto uri = parse_store_uri(server.url());
  EXPECT_TRUE(uri);
  options.request_timeout_ms = 5000;
  auto store = ChromaHttpStore::open(*uri, options);
  EXPECT_TRUE(store);
  return std::move(*store);
}

CollectionInfo some_collection() {
  CollectionInfo c;
  c.name = "coll";
  c.id = "0d1a-id";
  return c;
}

TEST(ChromaHttpStoreErrorsTest, ServerErrorsAndRateLimitsAreTransient) {
  FakeHttpServer server({answer(503, R"({"error":"Unavailable","message":"busy"})"),
                         answer(429, "slow down"), answer(500, "")});
  auto store = open_store(server);
  for (int expected : {503, 429, 500}) {
    auto r = store->count(some_collection());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kTransient) << r.error().message;
    EXPECT_EQ(r.error().http_status, expected);
    EXPECT_NE(r.error().message.find("server answered " + std::to_string(expected)),
              std::string::npos)
        << r.error().message;
  }
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, std::string(kCollectionsPath) + "/0d1a-id/count");
}

TEST(ChromaHttpStoreErrorsTest, ClientErrorsAreRejectedAndQuoteTheServer) {
  FakeHttpServer server({answer(400, R"({"error":"InvalidArgumentError","message":"Collection )"
                                     R"(expecting embedding with dimension of 2, got 4"})")});
  auto store = open_store(server);
  auto r = store->get_records(some_collection(), std::vector<std::string>{"a"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRejected);
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_NE(r.error().message.find("server answered 400: InvalidArgumentError: Collection "
                                   "expecting embedding with dimension of 2, got 4"),
            std::string::npos)
      << r.error().message;
}

TEST(ChromaHttpStoreErrorsTest, MalformedSuccessIsProtocolError) {
  FakeHttpServer server({answer(200, "{\"ids\":[\"a\"],\"embeddings\":[[1,2"),
                         answer(200, "<html>"), answer(200, "[{\"name\":1}]")});
  auto store = open_store(server);
  auto r = store->get_records(some_collection(), std::vector<std::string>{"a"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kProtocol) << r.error().message;
  auto c = store->count(some_collection());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kProtocol) << c.error().message;
  auto l = store->list_collections();
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kProtocol) << l.error().message;
}

TEST(ChromaHttpStoreErrorsTest, TokenIsSentInBothHeaders) {
  FakeHttpServer server({answer(200, "7")});
  ChromaHttpStoreOptions options;
  options.token = "s3cret";
  auto store = open_store(server, options);
  ASSERT_TRUE(store->count(some_collection()));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers["x-chroma-token"], "s3cret");
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer s3cret");

  ChromaHttpStoreOptions bad;
  bad.token = "a\r\nInjected: yes";
  auto uri = parse_store_uri(server.url());
  auto refused = ChromaHttpStore::open(*uri, bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST(ChromaHttpStoreErrorsTest, FindCollectionNotFoundIsNullopt) {
  FakeHttpServer server(
      {answer(404, R"({"error":"NotFoundError","message":"Collection [a b] does not exists"})"),
       answer(200, collection_json("abc")), answer(503, "")});
  auto store = open_store(server);
  auto missing = store->find_collection("a b");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
  auto found = store->find_collection("abc");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "id-abc");
  auto failing = store->find_collection("abc");
  ASSERT_FALSE(failing);
  EXPECT_EQ(failing.error().code, ErrorCode::kTransient);
  EXPECT_EQ(server.requests()[0].path, std::string(kCollectionsPath) + "/a%20b");
}

TEST(ChromaHttpStoreErrorsTest, DuplicateCreateIsAlreadyExists) {
  FakeHttpServer server(
      {answer(409, R"({"error":"ChromaError","message":"Collection [abc] already exists"})"),
       answer(200, collection_json("abc"))});
  auto store = open_store(server);
  const HnswConfig hnsw{"cosine", 123, 50, 12, 1.5, 500};
  CollectionSpec spec{"abc", {{"m", std::int64_t{1}}}, hnsw};
  auto dup = store->create_collection(spec);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists) << dup.error().message;
  auto made = store->create_collection(spec);
  ASSERT_TRUE(made) << made.error().message;
  json sent = json::parse(server.requests()[0].body);
  EXPECT_EQ(sent["name"], "abc");
  EXPECT_EQ(sent["metadata"], json({{"m", 1}}));
  EXPECT_EQ(sent["configuration"]["hnsw"]["ef_construction"], 123);
  EXPECT_FALSE(sent.contains("get_or_create"));
}

TEST(ChromaHttpStoreErrorsTest, LimitsAreCachedAndChooseTheEncoding) {
  FakeHttpServer server({answer(200, R"({"max_batch_size":100,"supports_base64_encoding":true})"),
                         answer(200, "{}")});
  auto store = open_store(server);
  auto l = store->limits();
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->max_batch_size, 100u);
  std::vector<Record> records{{"a", {1.5f, -2.0f, 3.25f, 0.5f}, std::nullopt, {}}};
  ASSERT_TRUE(store->upsert(some_collection(), records));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);  // pre-flight asked once
  EXPECT_EQ(seen[0].path, "/api/v2/pre-flight-checks");
  EXPECT_EQ(seen[1].path, std::string(kCollectionsPath) + "/0d1a-id/upsert");
  EXPECT_EQ(json::parse(seen[1].body)["embeddings"][0], "AADAPwAAAMAAAFBAAAAAPw==");

  FakeHttpServer old_server({answer(200, R"({"max_batch_size":100})"), answer(200, "{}")});
  auto old_store = open_store(old_server);
  ASSERT_TRUE(old_store->upsert(some_collection(), records));
  EXPECT_EQ(json::parse(old_server.requests()[1].body)["embeddings"][0],
            json({1.5, -2.0, 3.25, 0.5}));
}

TEST(ChromaHttpStoreErrorsTest, EmptyBatchesSendNothing) {
  FakeHttpServer server;
  auto store = open_store(server);
  EXPECT_TRUE(store->delete_records(some_collection(), {}));
  EXPECT_TRUE(store->upsert(some_collection(), {}));
  EXPECT_TRUE(store->get_records(some_collection(), {}));
  EXPECT_TRUE(server.requests().empty());
}

TEST(ChromaHttpStoreErrorsTest, ListCollectionsPagesUntilAShortPage) {
  std::string page1 = "[";
  for (int i = 0; i < 100; ++i) page1 += (i ? "," : "") + collection_json("c" + std::to_string(i));
  page1 += "]";
  FakeHttpServer server({answer(200, page1), answer(200, "[" + collection_json("last") + "]")});
  auto store = open_store(server);
  auto all = store->list_collections();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 101u);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, std::string(kCollectionsPath) + "?limit=100&offset=0");
  EXPECT_EQ(seen[1].path, std::string(kCollectionsPath) + "?limit=100&offset=100");
}

TEST(ChromaHttpStoreErrorsTest, EnsureDatabaseCreatesOnlyWhenMissing) {
  FakeHttpServer server({answer(404, R"({"error":"NotFoundError","message":"Database not found"})"),
                         answer(200, "{}"), answer(200, R"({"id":"x","name":"db one"})")});
  auto uri = parse_store_uri(server.url() + "?tenant=t1&database=db%20one");
  ASSERT_TRUE(uri);
  auto store = ChromaHttpStore::open(*uri);
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->ensure_database());
  ASSERT_TRUE((*store)->ensure_database());
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].path, "/api/v2/tenants/t1/databases/db%20one");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].path, "/api/v2/tenants/t1/databases");
  EXPECT_EQ(json::parse(seen[1].body), json({{"name", "db one"}}));
  EXPECT_EQ(seen[2].method, "GET");
}

TEST(ChromaHttpStoreErrorsTest, DeleteMissingCollectionIsNotFound) {
  FakeHttpServer server({answer(404, R"({"error":"NotFoundError","message":"nope"})")});
  auto store = open_store(server);
  auto r = store->delete_collection("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(server.requests()[0].method, "DELETE");
}

// Requests the server refuses as too large are split, not failed (common/chroma/request_split.hpp):
// the answers of the Rust server's body limit (413) and of Chroma Cloud's documented quota
// ("exceeds limit of 300") replayed.
const CannedResponse kPreflight = answer(200, R"({"max_batch_size":5461})");
const std::string kQuota =
    R"({"error":"ChromaError","message":"Quota exceeded: 'Number of records' current usage of )"
    R"(1056 exceeds limit of 300."})";

ChromaHttpStoreOptions limited(std::size_t max_request_bytes) {
  ChromaHttpStoreOptions options;
  options.max_request_bytes = max_request_bytes;
  return options;
}

std::vector<Record> records(std::size_t n) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back({"r" + std::to_string(i), std::vector<float>(8, 0.5f), "doc", {}});
  }
  return out;
}

// The ids each upsert request carried, in order (the pre-flight left out).
std::vector<std::size_t> upsert_sizes(const FakeHttpServer& server) {
  std::vector<std::size_t> out;
  for (const auto& r : server.requests()) {
    if (r.path.ends_with("/upsert")) out.push_back(json::parse(r.body)["ids"].size());
  }
  return out;
}

TEST(ChromaHttpStoreSplitTest, A413HalvesTheBatchAndLaterBatchesStaySmall) {
  FakeHttpServer server({kPreflight, answer(413, "payload too large"), answer(200, "{}"),
                         answer(200, "{}"), answer(200, "{}"), answer(200, "{}")});
  auto store = open_store(server);
  ASSERT_TRUE(store->upsert(some_collection(), records(100)));
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{100, 50, 50}));
  ASSERT_TRUE(store->upsert(some_collection(), records(100)));  // no second refusal
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{100, 50, 50, 50, 50}));
}

TEST(ChromaHttpStoreSplitTest, AQuotaErrorSetsThePartSizeItNames) {
  FakeHttpServer server({kPreflight, answer(422, kQuota), answer(200, "{}"), answer(200, "{}"),
                         answer(200, "{}"), answer(200, "{}")});
  auto store = open_store(server);
  ASSERT_TRUE(store->upsert(some_collection(), records(1056)));
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{1056, 300, 300, 300, 156}));
}

TEST(ChromaHttpStoreSplitTest, ReadsAndDeletesSplitOnTheQuotaToo) {
  FakeHttpServer server({answer(422, kQuota),
                         answer(200, R"({"ids":["a"],"embeddings":[[1]],)"
                                     R"("documents":[null],"metadatas":[null]})"),
                         answer(200, R"({"ids":["b"],"embeddings":[[2]],)"
                                     R"("documents":[null],"metadatas":[null]})"),
                         answer(422, kQuota), answer(200, "{}"), answer(200, "{}")});
  auto store = open_store(server);
  std::vector<std::string> ids(400, "x");
  auto got = store->get_records(some_collection(), ids);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 2u) << "both parts' records are returned";
  EXPECT_EQ((*got)[1].id, "b");
  ASSERT_TRUE(store->delete_records(some_collection(), ids));
  std::vector<std::size_t> sizes;
  for (const auto& r : server.requests()) sizes.push_back(json::parse(r.body)["ids"].size());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{400, 300, 100, 400, 300, 100}));
}

TEST(ChromaHttpStoreSplitTest, ABodyOverTheLimitIsSplitBeforeItIsSent) {
  FakeHttpServer server({kPreflight});
  server.set_fallback(answer(200, "{}"));
  auto store = open_store(server, limited(3000));  // 64 of these records take about 6 KB of JSON
  ASSERT_TRUE(store->upsert(some_collection(), records(64)));
  const auto sizes = upsert_sizes(server);
  EXPECT_GT(sizes.size(), 1u);
  std::size_t total = 0;
  for (auto n : sizes) total += n;
  EXPECT_EQ(total, 64u);
  for (const auto& r : server.requests()) EXPECT_LE(r.body.size(), 3000u) << "sent over the limit";
}

TEST(ChromaHttpStoreSplitTest, OtherErrorsAndASingleRecordTooLargeAreReturned) {
  FakeHttpServer server({kPreflight, answer(400, R"({"error":"bad"})"), answer(413, "too large")});
  auto store = open_store(server);
  auto bad = store->upsert(some_collection(), records(10));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().http_status, 400);
  auto single = store->upsert(some_collection(), records(1));
  ASSERT_FALSE(single);
  EXPECT_EQ(single.error().http_status, 413);
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{10, 1}));
}

TEST(ChromaHttpStoreSplitTest, IsTooLargeReadsTheStatusAndTheQuota) {
  std::size_t limit = 7;
  EXPECT_TRUE(is_too_large(Error{ErrorCode::kRejected, "x", 413}, &limit));
  EXPECT_EQ(limit, 0u);
  EXPECT_TRUE(is_too_large(
      Error{ErrorCode::kRejected, "current usage of 9 exceeds limit of 300", 400}, &limit));
  EXPECT_EQ(limit, 300u);
  EXPECT_FALSE(is_too_large(Error{ErrorCode::kTransient, "exceeds limit of 3", 429}, &limit));
  EXPECT_FALSE(is_too_large(Error{ErrorCode::kRejected, "bad request", 400}, &limit));
}

}  // namespace
}  // namespace cm
