// Retry, read-only and fault-injection decorators: what is retried, how often, and what never
// reaches the store.
#include "common/store/store_decorators.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/chroma/chroma_http_store.hpp"
#include "common/store/fault_injection.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

using testing::MemoryStore;

// A memory store with one collection (dimension 2, two records); call counts start after the seed.
struct Fixture {
  std::unique_ptr<MemoryStore> inner = std::make_unique<MemoryStore>();
  MemoryStore* raw = inner.get();
  CollectionInfo c;
  std::vector<Record> batch{{"a", {1.0f, 2.0f}, std::nullopt, {}}, {"b", {3.0f, 4.0f}, "d", {}}};
  Fixture() {
    c = *inner->create_collection(CollectionSpec{"coll", {}, {}, {}});
    std::vector<Record> seed{{"x", {0.0f, 0.0f}, std::nullopt, {}},
                             {"y", {1.0f, 1.0f}, std::nullopt, {}}};
    EXPECT_TRUE(inner->upsert(c, seed));
    raw->reset_calls();
  }
};

RetryPolicy fast_policy(int attempts) {
  return {attempts, std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
}

TEST(RetryingStoreTest, RetriesTransientFailuresUntilSuccess) {
  Fixture f;
  f.raw->fail("upsert", {ErrorCode::kTransient, "503"}, 1);
  f.raw->fail("upsert", {ErrorCode::kTransient, "reset"}, 2);
  auto counters = std::make_shared<StoreCounters>();
  RetryingStore store(std::move(f.inner), fast_policy(5), counters);
  EXPECT_TRUE(store.upsert(f.c, f.batch));
  EXPECT_EQ(f.raw->calls("upsert"), 3u);
  EXPECT_EQ(counters->retries, 2u);
  EXPECT_EQ(f.raw->records_of("coll").size(), 4u);  // the third attempt landed
}

TEST(RetryingStoreTest, DoesNotRetryRejections) {
  Fixture f;
  f.raw->fail("upsert", {ErrorCode::kRejected, "400 dimension mismatch", 400}, 1);
  RetryingStore store(std::move(f.inner), fast_policy(5), nullptr);
  auto status = store.upsert(f.c, f.batch);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kRejected);
  EXPECT_EQ(f.raw->calls("upsert"), 1u);
}

TEST(RetryingStoreTest, GivesUpAfterMaxAttemptsAndSaysSo) {
  Fixture f;
  f.raw->fail("upsert", {ErrorCode::kTransient, "timeout"}, 1, 10);
  RetryingStore store(std::move(f.inner), fast_policy(3), nullptr);
  auto status = store.upsert(f.c, f.batch);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kTransient);
  EXPECT_NE(status.error().message.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(f.raw->calls("upsert"), 3u);
  EXPECT_EQ(f.raw->records_of("coll").size(), 2u);
}

TEST(RetryingStoreTest, ClassifiesRealHttpAnswersFromAFakeServer) {
  // 503 and 429 are retried; the third answer succeeds. Then a 400 is not retried.
  testing::FakeHttpServer server({{503, R"({"error":"Unavailable","message":"busy"})"},
                                  {429, R"({"error":"RateLimit","message":"slow down"})"},
                                  {200, "3"},
                                  {400, R"({"error":"InvalidArgumentError","message":"bad"})"}});
  ASSERT_TRUE(server.ok());
  auto uri = parse_store_uri(server.url());
  auto http = ChromaHttpStore::open(*uri);
  ASSERT_TRUE(http);
  RetryingStore store(std::move(*http), fast_policy(5), nullptr);
  CollectionInfo c;
  c.name = "c";
  c.id = "0b7b5a3c-1b5e-4f58-9a59-4b1f8d1f7e11";
  auto count = store.count(c);
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 3u);
  EXPECT_EQ(server.requests().size(), 3u);
  auto rejected = store.count(c);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kRejected);
  EXPECT_NE(rejected.error().message.find("InvalidArgumentError: bad"), std::string::npos)
      << rejected.error().message;
  EXPECT_EQ(server.requests().size(), 4u);
}

TEST(ReadOnlyStoreTest, RefusesEveryWriteBeforeItReachesTheStore) {
  Fixture f;
  ReadOnlyStore store(std::move(f.inner));
  EXPECT_EQ(store.create_collection(CollectionSpec{"abc", {}, {}, {}}).error().code,
            ErrorCode::kInternal);
  EXPECT_FALSE(store.delete_collection("coll"));
  EXPECT_FALSE(store.upsert(f.c, f.batch));
  std::vector<std::string> ids{"x"};
  EXPECT_FALSE(store.delete_records(f.c, ids));
  EXPECT_FALSE(store.rename_collection(f.c, "other"));
  EXPECT_FALSE(store.update_collection_metadata(f.c, {}));
  EXPECT_EQ(f.raw->writes(), 0u);
  auto count = store.count(f.c);  // reads pass through
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 2u);
  std::vector<std::vector<float>> q{{1.0f, 2.0f}};
  auto hits = store.query(f.c, q, 3);  // a query is a read
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].front().id, "y");
  EXPECT_EQ(f.raw->calls("query"), 1u);
}

TEST(RetryingStoreTest, RetriesAQueryAndParsesTheServersAnswer) {
  testing::FakeHttpServer server(
      {{503, R"({"error":"Unavailable","message":"busy"})"},
       {200, R"({"ids":[["b","a"],[]],"distances":[[0.25,0.5],[]],"include":["distances"]})"}});
  ASSERT_TRUE(server.ok());
  auto http = ChromaHttpStore::open(*parse_store_uri(server.url()));
  ASSERT_TRUE(http);
  RetryingStore store(std::move(*http), fast_policy(3), nullptr);
  CollectionInfo c;
  c.name = "c";
  c.id = "0b7b5a3c-1b5e-4f58-9a59-4b1f8d1f7e11";
  std::vector<std::vector<float>> q{{1.0f, 0.5f}, {0.0f, -1.0f}};
  auto hits = store.query(c, q, 2);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0], (std::vector<QueryHit>{{"b", 0.25f}, {"a", 0.5f}}));
  EXPECT_TRUE((*hits)[1].empty());
  ASSERT_EQ(server.requests().size(), 2u);
  const auto sent = server.requests()[1];
  EXPECT_EQ(sent.path, "/api/v2/tenants/default_tenant/databases/default_database/collections/" +
                           c.id + "/query");
  EXPECT_EQ(sent.body,
            R"({"query_embeddings":[[1,0.5],[0,-1]],"n_results":2,"include":["distances"]})");
}

TEST(FaultInjectionTest, ParsesRulesAndRejectsMalformedOnes) {
  auto rules = parse_fault_spec(
      "target.upsert=crash@3;source.get_records=transient@1-2;target.count=reject@4;x.y=transient@"
      "5-");
  ASSERT_TRUE(rules) << rules.error().message;
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[0].action, FaultRule::Action::kCrash);
  EXPECT_EQ((*rules)[1].last, 2u);
  EXPECT_EQ((*rules)[3].last, UINT64_MAX);
  for (const char* bad :
       {"upsert=crash@1", "target.count=corrupt@1", "target.upsert=explode@1",
        "target.upsert=crash@0", "target.upsert=transient@3-1", "target.upsert=crash"}) {
    auto r = parse_fault_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

// A number beyond 2^64-1 is a malformed spec (exit 2, usage), not an escaped std::out_of_range
// (exit 70, internal).
TEST(FaultInjectionTest, AnOutOfRangeCallNumberIsAMalformedSpecNotAnException) {
  for (const char* bad :
       {"target.upsert=crash@99999999999999999999999", "target.upsert=crash@18446744073709551616",
        "target.upsert=transient@99999999999999999999999-",
        "target.upsert=transient@1-99999999999999999999999"}) {
    Result<std::vector<FaultRule>> r = std::vector<FaultRule>{};
    EXPECT_NO_THROW(r = parse_fault_spec(bad)) << bad;
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(r.error().message.find("CHROMA_MIGRATE_FAULTS"), std::string::npos);
  }
  auto max = parse_fault_spec("target.upsert=crash@18446744073709551615");
  ASSERT_TRUE(max) << max.error().message;
  EXPECT_EQ((*max)[0].first, UINT64_MAX);
}

TEST(FaultInjectionTest, InjectedFaultsNeverReachTheStore) {
  Fixture f;
  FaultInjectingStore store(std::move(f.inner), *parse_fault_spec("target.upsert=transient@2-3"));
  EXPECT_TRUE(store.upsert(f.c, f.batch));
  EXPECT_EQ(store.upsert(f.c, f.batch).error().code, ErrorCode::kTransient);
  EXPECT_EQ(store.upsert(f.c, f.batch).error().code, ErrorCode::kTransient);
  EXPECT_TRUE(store.upsert(f.c, f.batch));
  EXPECT_EQ(f.raw->calls("upsert"), 2u);
}

TEST(FaultInjectionTest, InjectsFaultsIntoQueries) {
  Fixture f;
  FaultInjectingStore store(std::move(f.inner), *parse_fault_spec("target.query=reject@1"));
  std::vector<std::vector<float>> q{{1.0f, 0.0f}};
  EXPECT_EQ(store.query(f.c, q, 1).error().code, ErrorCode::kRejected);
  EXPECT_TRUE(store.query(f.c, q, 1));
  EXPECT_EQ(f.raw->calls("query"), 1u);
}

TEST(FaultInjectionTest, CorruptSendsOneShiftedValueAndReportsSuccess) {
  Fixture f;
  FaultInjectingStore store(std::move(f.inner), *parse_fault_spec("target.upsert=corrupt@2"));
  const auto& batch = f.batch;
  auto stored = [&] {
    std::vector<std::string> ids{"a", "b"};
    auto got = f.raw->get_records(f.c, ids);
    EXPECT_TRUE(got);
    std::sort(got->begin(), got->end(), [](auto& x, auto& y) { return x.id < y.id; });
    return *got;
  };
  ASSERT_TRUE(store.upsert(f.c, batch));
  EXPECT_EQ(stored(), batch);  // call 1 untouched
  ASSERT_TRUE(store.upsert(f.c, batch));
  auto after = stored();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_FLOAT_EQ(after[0].embedding[0], 1.01f);
  EXPECT_EQ(after[0].embedding[1], 2.0f);
  EXPECT_EQ(after[1], batch[1]);
  EXPECT_EQ(batch[0].embedding[0], 1.0f);  // the caller's records are not modified
}

TEST(FaultInjectionTest, InjectsFaultsIntoCollectionOperations) {
  Fixture f;
  FaultInjectingStore store(
      std::move(f.inner),
      *parse_fault_spec("target.rename_collection=reject@1;target.delete_collection=transient@1"));
  EXPECT_EQ(store.rename_collection(f.c, "renamed").error().code, ErrorCode::kRejected);
  EXPECT_EQ(store.delete_collection("coll").error().code, ErrorCode::kTransient);
  EXPECT_TRUE(store.rename_collection(f.c, "renamed"));
  EXPECT_EQ(f.raw->writes(), 1u);
  EXPECT_EQ(f.raw->records_of("renamed").size(), 2u);
}

}  // namespace
}  // namespace cm
