// The unit tests' memory fake (tests/support/memory_store.hpp): its steering works as documented.
// (Its VectorStore behaviour is covered by the conformance suite, store_conformance_unit_test.)
#include "tests/support/memory_store.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cm::testing {
namespace {

std::vector<Record> two() {
  return {{"a", {1.0f, 0.0f}, std::nullopt, {}}, {"b", {0.0f, 1.0f}, "doc", {}}};
}

TEST(MemoryStoreTest, InjectedFailuresHitExactlyTheNumberedCallsAndChangeNothing) {
  MemoryStore store;
  auto c = store.create_collection({"coll", {}, {}, {}});
  ASSERT_TRUE(c);
  store.fail("upsert", {ErrorCode::kTransient, "injected"}, 2, 3);
  EXPECT_TRUE(store.upsert(*c, std::vector<Record>{two()[0]}));
  auto second = store.upsert(*c, std::vector<Record>{two()[1]});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kTransient);
  EXPECT_EQ(second.error().message, "injected");
  EXPECT_FALSE(store.upsert(*c, std::vector<Record>{two()[1]}));
  EXPECT_EQ(store.records_of("coll").size(), 1u);  // the failed calls wrote nothing
  EXPECT_TRUE(store.upsert(*c, std::vector<Record>{two()[1]}));
  EXPECT_EQ(store.records_of("coll").size(), 2u);
  EXPECT_EQ(store.calls("upsert"), 4u);
  EXPECT_EQ(store.writes(), 5u);  // the create and four upserts
  store.reset_calls();
  EXPECT_EQ(store.calls("upsert"), 0u);
}

TEST(MemoryStoreTest, HookSeesEveryCallAndMayUseTheStore) {
  MemoryStore store;
  auto c = *store.create_collection({"coll", {}, {}, {}});
  ASSERT_TRUE(store.upsert(c, two()));
  std::vector<std::string> seen;
  store.set_hook([&](std::string_view op, std::uint64_t n) {
    seen.push_back(std::string(op) + "#" + std::to_string(n));
    if (op == "count") {
      std::vector<std::string> gone{"a"};
      ASSERT_TRUE(store.delete_records(c, gone));  // re-entrant: the hook runs outside the lock
    }
  });
  auto count = store.count(c);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 1u);
  EXPECT_EQ(seen, (std::vector<std::string>{"count#1", "delete_records#1"}));
}

TEST(MemoryStoreTest, IdsSurviveRenamesAndStaleInfoFindsTheCollectionById) {
  MemoryStore store;
  auto a = *store.create_collection({"alpha", {}, {}, {}});
  auto b = *store.create_collection({"beta", {}, {}, {}});
  EXPECT_NE(a.id, b.id);
  ASSERT_TRUE(store.rename_collection(a, "gamma"));
  auto found = store.find_collection("gamma");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, a.id);
  // Like a server (which addresses collections by id), the pre-rename info still works.
  ASSERT_TRUE(store.upsert(a, two()));
  EXPECT_EQ(store.records_of("gamma").size(), 2u);
  EXPECT_EQ(store.delete_collection("alpha").error().code, ErrorCode::kNotFound);
}

TEST(MemoryStoreTest, RejectsMixedDimensionsAndOversizedBatches) {
  MemoryStore store("small", StoreLimits{2, false});
  auto c = *store.create_collection({"coll", {}, {}, {}});
  std::vector<Record> mixed{{"a", {1.0f}, std::nullopt, {}}, {"b", {1.0f, 2.0f}, std::nullopt, {}}};
  EXPECT_EQ(store.upsert(c, mixed).error().code, ErrorCode::kInvalidArgument);
  std::vector<Record> three{{"a", {1.0f}, std::nullopt, {}},
                            {"b", {2.0f}, std::nullopt, {}},
                            {"c", {3.0f}, std::nullopt, {}}};
  EXPECT_EQ(store.upsert(c, three).error().code, ErrorCode::kRejected);
  EXPECT_TRUE(store.records_of("coll").empty());
  EXPECT_EQ(store.describe(), "memory:small");
}

}  // namespace
}  // namespace cm::testing
