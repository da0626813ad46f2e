// Retry, read-only and fault-injection decorators: what is retried, how often, and what never
// reaches the store.
#include "common/store/store_decorators.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "common/chroma/chroma_http_store.hpp"
#include "common/store/fault_injection.hpp"
#include "tests/support/fake_http_server.hpp"

namespace cm {
namespace {

// A store whose upserts answer from a script; counts what reached it.
class ScriptedStore final : public VectorStore {
 public:
  std::deque<Status> upsert_script;
  int upserts = 0, writes = 0;

  std::string describe() const override { return "scripted"; }
  Result<StoreLimits> limits() override { return StoreLimits{}; }
  Result<std::vector<CollectionInfo>> list_collections() override {
    return std::vector<CollectionInfo>{};
  }
  Result<std::optional<CollectionInfo>> find_collection(const std::string&) override {
    return std::nullopt;
  }
  Result<CollectionInfo> create_collection(const CollectionSpec& s) override {
    ++writes;
    CollectionInfo info;
    info.name = s.name;
    return info;
  }
  Status delete_collection(const std::string&) override { return ++writes, ok_status(); }
  Status update_collection_metadata(const CollectionInfo&, const Metadata&) override {
    return ++writes, ok_status();
  }
  Status rename_collection(const CollectionInfo&, const std::string&) override {
    return ++writes, ok_status();
  }
  Result<std::uint64_t> count(const CollectionInfo&) override { return 0; }
  Result<std::vector<std::string>> list_ids(const CollectionInfo&, std::uint64_t,
                                            std::uint32_t) override {
    return std::vector<std::string>{};
  }
  Result<std::vector<Record>> get_records(const CollectionInfo&,
                                          std::span<const std::string>) override {
    return std::vector<Record>{};
  }
  Status upsert(const CollectionInfo&, std::span<const Record> records) override {
    last_upsert.assign(records.begin(), records.end());
    ++upserts;
    ++writes;
    if (upsert_script.empty()) return ok_status();
    auto next = upsert_script.front();
    upsert_script.pop_front();
    return next;
  }
  Status delete_records(const CollectionInfo&, std::span<const std::string>) override {
    return ++writes, ok_status();
  }
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo&,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t) override {
    ++queries;
    return std::vector<std::vector<QueryHit>>(embeddings.size(), {QueryHit{"nearest", 0.5f}});
  }
  int queries = 0;
  std::vector<Record> last_upsert;
};

const CollectionInfo kNone;

RetryPolicy fast_policy(int attempts) {
  return {attempts, std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
}

TEST(RetryingStoreTest, RetriesTransientFailuresUntilSuccess) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  raw->upsert_script = {make_error(ErrorCode::kTransient, "503"),
                        make_error(ErrorCode::kTransient, "reset"), ok_status()};
  auto counters = std::make_shared<StoreCounters>();
  RetryingStore store(std::move(inner), fast_policy(5), counters);
  EXPECT_TRUE(store.upsert(kNone, {}));
  EXPECT_EQ(raw->upserts, 3);
  EXPECT_EQ(counters->retries, 2u);
}

TEST(RetryingStoreTest, DoesNotRetryRejections) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  raw->upsert_script = {make_error(ErrorCode::kRejected, "400 dimension mismatch", 400)};
  RetryingStore store(std::move(inner), fast_policy(5), nullptr);
  auto status = store.upsert(kNone, {});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kRejected);
  EXPECT_EQ(raw->upserts, 1);
}

TEST(RetryingStoreTest, GivesUpAfterMaxAttemptsAndSaysSo) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  for (int i = 0; i < 10; ++i)
    raw->upsert_script.push_back(make_error(ErrorCode::kTransient, "timeout"));
  RetryingStore store(std::move(inner), fast_policy(3), nullptr);
  auto status = store.upsert(kNone, {});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kTransient);
  EXPECT_NE(status.error().message.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(raw->upserts, 3);
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
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  ReadOnlyStore store(std::move(inner));
  EXPECT_EQ(store.create_collection(CollectionSpec{"abc", {}, {}, {}}).error().code,
            ErrorCode::kInternal);
  EXPECT_FALSE(store.delete_collection("abc"));
  EXPECT_FALSE(store.upsert(kNone, {}));
  EXPECT_FALSE(store.delete_records(kNone, {}));
  EXPECT_FALSE(store.rename_collection(kNone, "other"));
  EXPECT_FALSE(store.update_collection_metadata(kNone, {}));
  EXPECT_EQ(raw->writes, 0);
  EXPECT_TRUE(store.count(kNone));  // reads pass through
  std::vector<std::vector<float>> q{{1.0f, 2.0f}};
  auto hits = store.query(kNone, q, 3);  // a query is a read
  ASSERT_TRUE(hits);
  EXPECT_EQ(raw->queries, 1);
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
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  FaultInjectingStore store(std::move(inner), *parse_fault_spec("target.upsert=transient@2-3"));
  EXPECT_TRUE(store.upsert(kNone, {}));
  EXPECT_EQ(store.upsert(kNone, {}).error().code, ErrorCode::kTransient);
  EXPECT_EQ(store.upsert(kNone, {}).error().code, ErrorCode::kTransient);
  EXPECT_TRUE(store.upsert(kNone, {}));
  EXPECT_EQ(raw->upserts, 2);
}

TEST(FaultInjectionTest, InjectsFaultsIntoQueries) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  FaultInjectingStore store(std::move(inner), *parse_fault_spec("target.query=reject@1"));
  std::vector<std::vector<float>> q{{1.0f}};
  EXPECT_EQ(store.query(kNone, q, 1).error().code, ErrorCode::kRejected);
  EXPECT_TRUE(store.query(kNone, q, 1));
  EXPECT_EQ(raw->queries, 1);
}

TEST(FaultInjectionTest, CorruptSendsOneShiftedValueAndReportsSuccess) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  FaultInjectingStore store(std::move(inner), *parse_fault_spec("target.upsert=corrupt@2"));
  std::vector<Record> batch{{"a", {1.0f, 2.0f}, std::nullopt, {}}, {"b", {3.0f}, "d", {}}};
  ASSERT_TRUE(store.upsert(kNone, batch));
  EXPECT_EQ(raw->last_upsert, batch);  // call 1 untouched
  ASSERT_TRUE(store.upsert(kNone, batch));
  ASSERT_EQ(raw->last_upsert.size(), 2u);
  EXPECT_FLOAT_EQ(raw->last_upsert[0].embedding[0], 1.01f);
  EXPECT_EQ(raw->last_upsert[0].embedding[1], 2.0f);
  EXPECT_EQ(raw->last_upsert[1], batch[1]);
  EXPECT_EQ(batch[0].embedding[0], 1.0f);  // the caller's records are not modified
}

TEST(FaultInjectionTest, InjectsFaultsIntoCollectionOperations) {
  auto inner = std::make_unique<ScriptedStore>();
  auto* raw = inner.get();
  FaultInjectingStore store(
      std::move(inner),
      *parse_fault_spec("target.rename_collection=reject@1;target.delete_collection=transient@1"));
  EXPECT_EQ(store.rename_collection(kNone, "x").error().code, ErrorCode::kRejected);
  EXPECT_EQ(store.delete_collection("x").error().code, ErrorCode::kTransient);
  EXPECT_TRUE(store.rename_collection(kNone, "x"));
  EXPECT_EQ(raw->writes, 1);
}

}  // namespace
}  // namespace cm
