// NearDuplicateIndex with its vectors spilled to a scratch file: a copy of a record under a new id
// (a suspect) is found next to its original across spill chunks, clean collections report nothing,
// and the scratch file never shows in the directory (unlinked at once).
#include "validate/checks/near_duplicates.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/chroma_server.hpp"

namespace cm::validate {
namespace {

std::vector<Record> random_records(std::size_t n, std::size_t dim) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Record> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].id = "r" + std::to_string(i);
    for (std::size_t d = 0; d < dim; ++d) out[i].embedding.push_back(normal(rng));
  }
  return out;
}

class NearDuplicatesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("near-dup"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NearDuplicatesTest, ACopyUnderANewIdIsFoundAcrossSpillChunks) {
  const std::size_t dim = 64;  // 16,384 vectors per 4 MiB chunk: 40,000 records span three
  auto records = random_records(40'000, dim);
  NearDuplicateIndex index(dim, records.size(), dir_ / "tmp");
  for (const auto& r : records) index.add(r, false);
  Record copy = records[31'000];
  copy.id = "copy-of-r31000";
  index.add(copy, true);
  Record zero{"zero", std::vector<float>(dim, 0.0f), std::nullopt, {}};
  index.add(zero, true);  // skipped: no direction
  EXPECT_EQ(index.skipped(), 1u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ / "tmp"), {}), 0)
      << "the spill file is unlinked";
  auto pairs = index.suspect_pairs(0.999, 100);
  ASSERT_TRUE(pairs) << pairs.error().message;
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ((*pairs)[0].a, "copy-of-r31000");
  EXPECT_EQ((*pairs)[0].b, "r31000");
  EXPECT_NEAR((*pairs)[0].similarity, 1.0, 1e-6);
}

TEST_F(NearDuplicatesTest, NoSuspectsNoPairs) {
  auto records = random_records(1000, 16);
  NearDuplicateIndex index(16, records.size(), dir_ / "tmp");
  for (const auto& r : records) index.add(r, false);
  auto pairs = index.suspect_pairs(0.5, 100);
  ASSERT_TRUE(pairs);
  EXPECT_TRUE(pairs->empty());
  EXPECT_EQ(index.size(), 1000u);
}

}  // namespace
}  // namespace cm::validate
