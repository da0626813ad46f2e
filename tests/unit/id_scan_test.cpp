// The id scan (common/run/id_scan.hpp) against the memory store: every id exactly once, in
// batch-sized lines of one JSON array each, written atomically (a failed scan leaves the previous
// file untouched, so a re-run starts from a consistent state), a source that changes during the
// scan is refused, and IdBatchFile reads any batch back by its line offset.
#include "common/run/id_scan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using testing::MemoryStore;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class IdScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("id-scan");
    scan_ = dir_ / "scans" / "coll.ids";
    c_ = *store_.create_collection({"coll", {}, {}, {}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> fill(std::size_t n, const std::string& prefix = "id-") {
    std::vector<Record> rs;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) {
      ids.push_back(prefix + std::to_string(i));
      rs.push_back({ids.back(), {static_cast<float>(i)}, std::nullopt, {}});
      if (rs.size() == 1000 || i + 1 == n) {
        EXPECT_TRUE(store_.upsert(c_, rs));
        rs.clear();
      }
    }
    store_.reset_calls();
    return ids;
  }

  fs::path dir_, scan_;
  MemoryStore store_{"source", StoreLimits{100000, false}};
  CollectionInfo c_;
};

TEST_F(IdScanTest, WritesEveryIdOnceInBatchSizedLines) {
  auto ids = fill(23);
  auto result = scan_ids(store_, c_, 5, scan_);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->id_count, 23u);
  EXPECT_EQ(result->batch_count, 5u);
  // The file itself: one JSON array per line, 5,5,5,5,3 ids, in the store's order.
  std::istringstream lines(read_text(scan_));
  std::string line;
  std::vector<std::string> from_file;
  std::vector<std::size_t> sizes;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    ASSERT_TRUE(json.is_array());
    sizes.push_back(json.size());
    for (const auto& id : json) from_file.push_back(id.get<std::string>());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{5, 5, 5, 5, 3}));
  EXPECT_EQ(from_file, ids);
}

TEST_F(IdScanTest, ScansMorePagesThanOneListCallReturns) {
  auto ids = fill(25003);
  auto result = scan_ids(store_, c_, 1000, scan_);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->id_count, 25003u);
  EXPECT_EQ(result->batch_count, 26u);
  EXPECT_GE(store_.calls("list_ids"), 3u);  // paged, not one call
  auto file = IdBatchFile::open(scan_);
  ASSERT_TRUE(file);
  ASSERT_EQ(file->batch_count(), 26u);
  std::vector<std::string> all;
  for (std::size_t i = 0; i < file->batch_count(); ++i) {
    auto batch = file->batch(i);
    ASSERT_TRUE(batch) << batch.error().message;
    EXPECT_EQ(batch->size(), i + 1 < 26 ? 1000u : 3u);
    all.insert(all.end(), batch->begin(), batch->end());
  }
  EXPECT_EQ(all, ids);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 25003u);
}

TEST_F(IdScanTest, BatchFileReadsAnyLineByOffsetAfterAReopen) {
  // Ids that need JSON escaping and multi-byte UTF-8 shift the byte offsets of later lines.
  std::vector<Record> rs;
  for (std::string id : {"plain", "quote\"d", "back\\slash", "ünïcødé-✓", "tab\tid", "last"})
    rs.push_back({id, {1.0f}, std::nullopt, {}});
  ASSERT_TRUE(store_.upsert(c_, rs));
  ASSERT_TRUE(scan_ids(store_, c_, 2, scan_));
  // A later invocation (a resume) only has the file.
  auto file = IdBatchFile::open(scan_);
  ASSERT_TRUE(file);
  ASSERT_EQ(file->batch_count(), 3u);
  EXPECT_EQ(*file->batch(2), (std::vector<std::string>{"tab\tid", "last"}));
  EXPECT_EQ(*file->batch(0), (std::vector<std::string>{"plain", "quote\"d"}));
  EXPECT_EQ(*file->batch(1), (std::vector<std::string>{"back\\slash", "ünïcødé-✓"}));
  auto out_of_range = file->batch(3);
  ASSERT_FALSE(out_of_range);
  EXPECT_EQ(out_of_range.error().code, ErrorCode::kInternal);
}

TEST_F(IdScanTest, BatchFileReportsATruncatedOrGarbledFile) {
  fill(10);
  ASSERT_TRUE(scan_ids(store_, c_, 4, scan_));
  auto file = IdBatchFile::open(scan_);
  ASSERT_TRUE(file);
  // The file shrinks under the index (a line's bytes are no longer there).
  const auto text = read_text(scan_);
  std::ofstream(scan_, std::ios::binary | std::ios::trunc) << text.substr(0, text.size() - 10);
  auto truncated = file->batch(2);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kCorruption);
  std::ofstream(scan_, std::ios::binary | std::ios::trunc) << "not json\n";
  auto garbled = IdBatchFile::open(scan_);
  ASSERT_TRUE(garbled);
  EXPECT_EQ(garbled->batch(0).error().code, ErrorCode::kCorruption);
  auto missing = IdBatchFile::open(dir_ / "nope.ids");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(IdScanTest, AFailedScanLeavesThePreviousFileAndARerunCompletesIt) {
  fill(12);
  ASSERT_TRUE(scan_ids(store_, c_, 5, scan_));
  const auto before = read_text(scan_);
  store_.reset_calls();
  store_.fail("list_ids", {ErrorCode::kTransient, "connection reset"}, 1);
  auto failed = scan_ids(store_, c_, 3, scan_);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kTransient);
  EXPECT_EQ(read_text(scan_), before);  // not half-rewritten
  for (const auto& entry : fs::directory_iterator(scan_.parent_path()))
    EXPECT_EQ(entry.path(), scan_) << "left behind: " << entry.path();
  auto rerun = scan_ids(store_, c_, 3, scan_);
  ASSERT_TRUE(rerun) << rerun.error().message;
  EXPECT_EQ(rerun->batch_count, 4u);
  EXPECT_EQ(IdBatchFile::open(scan_)->batch_count(), 4u);
}

TEST_F(IdScanTest, ASourceWrittenDuringTheScanIsRefused) {
  fill(8);
  // Someone inserts a record while the ids are being listed.
  store_.set_hook([&](std::string_view op, std::uint64_t n) {
    if (op == "list_ids" && n == 1) {
      std::vector<Record> extra{{"intruder", {9.0f}, std::nullopt, {}}};
      ASSERT_TRUE(store_.upsert(c_, extra));
    }
  });
  auto result = scan_ids(store_, c_, 3, scan_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kVerifyFailed);
  EXPECT_NE(result.error().message.find("8 records before, 9 after"), std::string::npos)
      << result.error().message;
  EXPECT_FALSE(fs::exists(scan_));
}

// Fuzzy (a live source's export): the same change is reported, not refused, and the ids the
// scan saw are written; a delete in the first page makes the second page skip one id (offset
// paging), which only a later scan (a sync) can find.
TEST_F(IdScanTest, AFuzzyScanOfAChangingSourceReportsTheChangeAndCarriesOn) {
  fill(10005);
  store_.set_hook([&](std::string_view op, std::uint64_t n) {
    if (op == "list_ids" && n == 2) {
      ASSERT_TRUE(store_.delete_records(c_, std::vector<std::string>{"id-0"}));
    }
  });
  auto result = scan_ids(store_, c_, 1000, scan_, ScanMode::kFuzzy);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->changed());
  EXPECT_EQ(result->count_before, 10005u);
  EXPECT_EQ(result->count_after, 10004u);
  EXPECT_EQ(result->id_count, 10004u);
  std::set<std::string> ids;
  auto file = IdBatchFile::open(scan_);
  ASSERT_TRUE(file);
  for (std::size_t b = 0; b < file->batch_count(); ++b) {
    auto batch = file->batch(b);
    ASSERT_TRUE(batch);
    ids.insert(batch->begin(), batch->end());
  }
  EXPECT_EQ(ids.size(), 10004u);
  EXPECT_TRUE(ids.contains("id-0"));       // listed before its delete
  EXPECT_FALSE(ids.contains("id-10000"));  // slid across the page boundary
}

// Pages that overlap (an insert before the boundary shifts ids into the next page): each id is
// written once, and the overlap is counted.
TEST_F(IdScanTest, AFuzzyScanWritesAnIdListedTwiceOnce) {
  class OverlappingPages final : public ForwardingStore {
   public:
    using ForwardingStore::ForwardingStore;
    Result<std::vector<std::string>> list_ids(const CollectionInfo& c, std::uint64_t offset,
                                              std::uint32_t limit) override {
      return inner().list_ids(c, offset ? offset - 1 : 0, limit);  // repeats the previous last
    }
  };
  fill(10003);
  auto inner = std::make_unique<MemoryStore>("source", StoreLimits{100000, false});
  auto c = *inner->create_collection({"coll", {}, {}, {}});
  std::vector<Record> rs;
  for (int i = 0; i < 10003; ++i)
    rs.push_back({"x-" + std::to_string(i), {1.0f}, std::nullopt, {}});
  ASSERT_TRUE(inner->upsert(c, rs));
  OverlappingPages store(std::move(inner));
  auto result = scan_ids(store, c, 1000, scan_, ScanMode::kFuzzy);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->duplicates, 1u);
  EXPECT_EQ(result->id_count, 10003u);
  EXPECT_TRUE(result->changed());
  auto exact = scan_ids(store, c, 1000, scan_);
  EXPECT_FALSE(exact) << "an exact scan never writes an id twice silently";
}

TEST_F(IdScanTest, AnEmptyCollectionScansToAnEmptyFile) {
  auto result = scan_ids(store_, c_, 10, scan_);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->id_count, 0u);
  EXPECT_EQ(result->batch_count, 0u);
  auto file = IdBatchFile::open(scan_);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->batch_count(), 0u);
}

}  // namespace
}  // namespace cm
