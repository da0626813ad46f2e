// Requests the server refuses as too large are split, not failed (common/chroma/request_split.hpp),
// through ChromaHttpStore against a scripted fake server replaying the answers of the Rust
// server's body limit (413) and of Chroma Cloud's documented quota ("exceeds limit of 300").
#include "common/chroma/request_split.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/chroma/chroma_http_store.hpp"
#include "tests/support/fake_http_server.hpp"

namespace cm {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::FakeHttpServer;

CannedResponse answer(int status, std::string body) {
  return CannedResponse{status, std::move(body), std::chrono::milliseconds(0), false};
}
const CannedResponse kPreflight = answer(200, R"({"max_batch_size":5461})");
const std::string kQuota =
    R"({"error":"ChromaError","message":"Quota exceeded: 'Number of records' current usage of )"
    R"(1056 exceeds limit of 300."})";

std::unique_ptr<ChromaHttpStore> open_store(const FakeHttpServer& server,
                                            std::size_t max_request_bytes = 41'943'040) {
  auto uri = parse_store_uri(server.url());
  EXPECT_TRUE(uri);
  ChromaHttpStoreOptions options;
  options.request_timeout_ms = 5000;
  options.max_request_bytes = max_request_bytes;
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

TEST(RequestSplitTest, A413HalvesTheBatchAndLaterBatchesStaySmall) {
  FakeHttpServer server({kPreflight, answer(413, "payload too large"), answer(200, "{}"),
                         answer(200, "{}"), answer(200, "{}"), answer(200, "{}")});
  auto store = open_store(server);
  ASSERT_TRUE(store->upsert(some_collection(), records(100)));
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{100, 50, 50}));
  ASSERT_TRUE(store->upsert(some_collection(), records(100)));  // no second refusal
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{100, 50, 50, 50, 50}));
}

TEST(RequestSplitTest, AQuotaErrorSetsThePartSizeItNames) {
  FakeHttpServer server({kPreflight, answer(422, kQuota), answer(200, "{}"), answer(200, "{}"),
                         answer(200, "{}"), answer(200, "{}")});
  auto store = open_store(server);
  ASSERT_TRUE(store->upsert(some_collection(), records(1056)));
  EXPECT_EQ(upsert_sizes(server), (std::vector<std::size_t>{1056, 300, 300, 300, 156}));
}

TEST(RequestSplitTest, ReadsAndDeletesSplitOnTheQuotaToo) {
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

TEST(RequestSplitTest, ABodyOverTheLimitIsSplitBeforeItIsSent) {
  FakeHttpServer server({kPreflight});
  server.set_fallback(answer(200, "{}"));
  auto store = open_store(server, 3000);  // 64 of these records take about 6 KB of JSON
  ASSERT_TRUE(store->upsert(some_collection(), records(64)));
  const auto sizes = upsert_sizes(server);
  EXPECT_GT(sizes.size(), 1u);
  std::size_t total = 0;
  for (auto n : sizes) total += n;
  EXPECT_EQ(total, 64u);
  for (const auto& r : server.requests()) EXPECT_LE(r.body.size(), 3000u) << "sent over the limit";
}

TEST(RequestSplitTest, OtherErrorsAndASingleRecordTooLargeAreReturned) {
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

TEST(RequestSplitTest, IsTooLargeReadsTheStatusAndTheQuota) {
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
