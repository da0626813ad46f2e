// IdHashSet and IdHashTable (common/store/id_hash_set.hpp) against the standard containers they
// replace, on real id hashes and on the edge cases a flat table has and a node table has not
// (the all-zero hash that marks an empty slot, growth, reservation, wrap-around probing).
#include "common/store/id_hash_set.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cm {
namespace {

struct IdHashLess {
  bool operator()(const IdHash& a, const IdHash& b) const {
    return a.high != b.high ? a.high < b.high : a.low < b.low;
  }
};

TEST(IdHashSetTest, AgreesWithUnorderedSetOnManyIds) {
  IdHashSet set;
  std::unordered_set<IdHash, IdHashHasher> reference;
  for (int i = 0; i < 200000; ++i) {
    // Every third id is inserted twice, so insert() must also report "already there".
    const IdHash h = id_hash("doc-" + std::to_string(i % 150000));
    EXPECT_EQ(set.insert(h), reference.insert(h).second) << i;
  }
  EXPECT_EQ(set.size(), reference.size());
  for (int i = 0; i < 300000; ++i) {
    const IdHash h = id_hash("doc-" + std::to_string(i));
    ASSERT_EQ(set.contains(h), reference.contains(h)) << i;
  }
}

TEST(IdHashSetTest, TheZeroHashIsAnOrdinaryMember) {
  IdHashSet set;
  EXPECT_FALSE(set.contains(IdHash{}));
  EXPECT_TRUE(set.insert(IdHash{}));
  EXPECT_FALSE(set.insert(IdHash{}));
  EXPECT_TRUE(set.contains(IdHash{}));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_FALSE(set.contains(IdHash{1, 0}));
}

TEST(IdHashSetTest, ReserveThenFillAndClear) {
  IdHashSet set;
  set.reserve(1000);
  // Hashes that all map to the last slots make the probe wrap around to the start.
  for (std::uint64_t i = 1; i <= 1000; ++i) EXPECT_TRUE(set.insert(IdHash{~0ULL - i, i}));
  for (std::uint64_t i = 1; i <= 1000; ++i) EXPECT_TRUE(set.contains(IdHash{~0ULL - i, i}));
  EXPECT_FALSE(set.contains(IdHash{~0ULL - 1001, 1001}));
  EXPECT_EQ(set.size(), 1000u);
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(IdHash{~0ULL - 1, 1}));
  EXPECT_TRUE(set.insert(IdHash{~0ULL - 1, 1}));
}

TEST(IdHashTableTest, FindsEveryEntryOfAHashInInsertionOrder) {
  IdHashTable<int> table;
  std::unordered_multimap<IdHash, int, IdHashHasher> reference;
  for (int i = 0; i < 50000; ++i) {
    const IdHash h = id_hash("id-" + std::to_string(i % 20000));
    table.add(h, i);
    reference.emplace(h, i);
  }
  table.seal();
  EXPECT_EQ(table.size(), reference.size());
  for (int i = 0; i < 20000; ++i) {
    const IdHash h = id_hash("id-" + std::to_string(i));
    std::vector<int> found;
    for (const auto& [hash, value] : table.find(h)) found.push_back(value);
    std::vector<int> expected;
    for (int v = i; v < 50000; v += 20000) expected.push_back(v);
    ASSERT_EQ(found, expected) << i;
    ASSERT_EQ(*table.first(h), i);
  }
  EXPECT_TRUE(table.find(id_hash("id-20000")).empty());
  EXPECT_EQ(table.first(id_hash("id-20000")), nullptr);
  EXPECT_FALSE(table.contains(id_hash("id-20000")));
}

TEST(IdHashTableTest, KeepOnePerHashKeepsThePreferredEntryAndSortedOrder) {
  IdHashTable<int> table;
  for (int i = 0; i < 1000; ++i) table.add(id_hash("k" + std::to_string(i % 100)), i);
  table.seal();
  table.keep_one_per_hash([](int a, int b) { return a > b; });  // the largest value wins
  ASSERT_EQ(table.size(), 100u);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(*table.first(id_hash("k" + std::to_string(k))), 900 + k);
  std::vector<IdHash> hashes;
  for (const auto& [hash, value] : table.entries()) hashes.push_back(hash);
  EXPECT_TRUE(std::is_sorted(hashes.begin(), hashes.end(), IdHashLess{}));
}

TEST(IdHashTableTest, ValuesFoundThroughFindCanBeUpdatedInPlace) {
  IdHashTable<int> table;
  table.add(id_hash("a"), 1);
  table.add(id_hash("b"), 2);
  table.seal();
  for (auto& [hash, value] : table.find(id_hash("a"))) value = 10;
  EXPECT_EQ(*table.first(id_hash("a")), 10);
  EXPECT_EQ(*table.first(id_hash("b")), 2);
}

}  // namespace
}  // namespace cm
