// The HNSW segment reader (common/persist/hnsw_segment.hpp): header.bin parsing, the slot layout
// of data_level0.bin (label, deleted mark, vector), length.bin norms, and every kind of damage
// as an error value naming the file. The files are written here in hnswlib's layout.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "common/persist/hnsw_segment.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using persist_test::read_bytes;
using persist_test::write_bytes;

constexpr std::size_t kDim = 3;
constexpr std::uint64_t kMaxM0 = 4;  // offsetData = 4 + 4 * maxM0 = 20

template <typename T>
void put(std::string& bytes, std::size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// A header as hnswlib writes it for `count` elements of dimension kDim.
std::string header(std::uint64_t count, std::uint64_t max_elements = 16) {
  std::string h(kHnswHeaderSize, '\0');
  const std::uint64_t offset_data = 4 + 4 * kMaxM0;
  const std::uint64_t label_offset = offset_data + 4 * kDim;
  put<std::int32_t>(h, 0, 1);
  put<std::uint64_t>(h, 4, 0);
  put<std::uint64_t>(h, 12, max_elements);
  put<std::uint64_t>(h, 20, count);
  put<std::uint64_t>(h, 28, label_offset + 8);
  put<std::uint64_t>(h, 36, label_offset);
  put<std::uint64_t>(h, 44, offset_data);
  put<std::uint64_t>(h, 68, kMaxM0);
  put<double>(h, 84, 0.36);
  return h;
}

struct Slot {
  std::uint64_t label;
  bool deleted;
  std::array<float, kDim> stored;
  float norm;
};

class PersistHnswTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("persist-hnsw"); }
  void TearDown() override { fs::remove_all(dir_); }

  // header.bin, data_level0.bin (max_elements slots) and length.bin for `slots`.
  void write_segment(const std::vector<Slot>& slots, std::uint64_t max_elements = 16) {
    const std::string h = header(slots.size(), max_elements);
    write_bytes(dir_ / "header.bin", h);
    const std::size_t slot_bytes = 4 + 4 * kMaxM0 + 4 * kDim + 8;
    std::string data(max_elements * slot_bytes, '\0');
    std::string lengths(max_elements * 4, '\0');
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const std::size_t base = i * slot_bytes;
      data[base + 2] = slots[i].deleted ? 1 : 0;
      std::memcpy(data.data() + base + 4 + 4 * kMaxM0, slots[i].stored.data(), 4 * kDim);
      put<std::uint64_t>(data, base + 4 + 4 * kMaxM0 + 4 * kDim, slots[i].label);
      put<float>(lengths, i * 4, slots[i].norm);
    }
    write_bytes(dir_ / "data_level0.bin", data);
    write_bytes(dir_ / "length.bin", lengths);
  }

  fs::path dir_;
};

TEST(PersistHnswHeaderTest, ParsesWhatHnswlibWrites) {
  auto h = parse_hnsw_header(header(5));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->cur_element_count, 5u);
  EXPECT_EQ(h->max_elements, 16u);
  EXPECT_EQ(h->dimension(), kDim);
  EXPECT_EQ(h->size_data_per_element, 4 + 4 * kMaxM0 + 4 * kDim + 8);
  EXPECT_DOUBLE_EQ(h->mult, 0.36);
}

TEST(PersistHnswHeaderTest, RejectsBadHeadersWithTheReason) {
  struct Case {
    std::string bytes;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({header(5).substr(0, 99), "99 bytes"});
  cases.push_back({header(5) + "x", "101 bytes"});
  cases.push_back({header(5), "persistence version 2"});
  put<std::int32_t>(cases.back().bytes, 0, 2);
  cases.push_back({header(5), "offsetLevel0 8"});
  put<std::uint64_t>(cases.back().bytes, 4, 8);
  cases.push_back({header(5), "offsetData 24 for maxM0 4"});
  put<std::uint64_t>(cases.back().bytes, 44, 24);
  cases.push_back({header(5), "impossible slot layout"});
  put<std::uint64_t>(cases.back().bytes, 28, 1000);
  cases.push_back({header(5), "impossible slot layout"});
  put<std::uint64_t>(cases.back().bytes, 36, 22);  // not a whole number of floats
  cases.push_back({header(17), "17 elements of at most 16"});
  cases.push_back({header(5, std::uint64_t{1} << 40), "elements of at most"});
  cases.push_back({header(5), "impossible slot layout"});
  put<std::uint64_t>(cases.back().bytes, 28, ~std::uint64_t{0});  // would overflow offsets
  for (const auto& c : cases) {
    auto h = parse_hnsw_header(c.bytes);
    ASSERT_FALSE(h) << c.message;
    EXPECT_EQ(h.error().code, ErrorCode::kCorruption);
    EXPECT_NE(h.error().message.find(c.message), std::string::npos) << h.error().message;
  }
}

TEST_F(PersistHnswTest, ScansSlotsAndRestoresCosineVectorsFromTheirNorms) {
  write_segment({{1, false, {0.6f, 0.8f, 0.0f}, 5.0f},
                 {2, true, {1.0f, 0.0f, 0.0f}, 2.0f},
                 {7, false, {0.0f, 0.0f, 1.0f}, 0.5f}});
  auto segment = HnswSegment::open(dir_, 3, /*with_lengths=*/true);
  ASSERT_TRUE(segment && *segment) << (segment ? "no segment" : segment.error().message);
  std::vector<std::pair<std::uint64_t, bool>> seen;
  ASSERT_TRUE((*segment)->scan([&](const HnswSlot& s) -> Status {
    seen.emplace_back(s.label, s.deleted);
    return ok_status();
  }));
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, bool>>{{1, false}, {2, true}, {7, false}}));
  auto v = (*segment)->read_vector(0);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, (std::vector<float>{0.6f * 5.0f, 0.8f * 5.0f, 0.0f}));
  auto plain = HnswSegment::open(dir_, 3, /*with_lengths=*/false);  // l2 / ip: stored as sent
  ASSERT_TRUE(plain && *plain);
  EXPECT_EQ(*(*plain)->read_vector(2), (std::vector<float>{0.0f, 0.0f, 1.0f}));
  EXPECT_FALSE((*plain)->read_vector(3)) << "beyond cur_element_count";
}

TEST_F(PersistHnswTest, ReadVectorsIsReadVectorInTheOrderAsked) {
  write_segment({{1, false, {0.6f, 0.8f, 0.0f}, 5.0f},
                 {2, false, {1.0f, 0.0f, 0.0f}, 2.0f},
                 {7, false, {0.0f, 0.0f, 1.0f}, 0.5f},
                 {9, false, {0.0f, 1.0f, 0.0f}, 3.0f}});
  auto segment = HnswSegment::open(dir_, 3, /*with_lengths=*/true);
  ASSERT_TRUE(segment && *segment);
  const std::vector<std::uint64_t> slots = {3, 0, 2, 0, 1};  // unordered, one slot twice
  auto many = (*segment)->read_vectors(slots);
  ASSERT_TRUE(many) << many.error().message;
  ASSERT_EQ(many->size(), slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ((*many)[i], *(*segment)->read_vector(slots[i])) << "slot " << slots[i];
  }
  EXPECT_EQ((*many)[0], (std::vector<float>{0.0f, 3.0f, 0.0f}));
  const std::vector<std::uint64_t> beyond = {1, 4};
  auto bad = (*segment)->read_vectors(beyond);
  ASSERT_FALSE(bad) << "slot 4 is beyond cur_element_count";
  EXPECT_NE(bad.error().message.find("beyond"), std::string::npos) << bad.error().message;
}

TEST_F(PersistHnswTest, NoHeaderMeansNothingPersisted) {
  auto segment = HnswSegment::open(dir_ / "missing", 3, true);
  ASSERT_TRUE(segment) << segment.error().message;
  EXPECT_FALSE(segment->has_value());
}

TEST_F(PersistHnswTest, DamageIsAnErrorNamingTheFile) {
  const std::vector<Slot> slots{{1, false, {1, 2, 3}, 1.0f}, {2, false, {4, 5, 6}, 1.0f}};
  auto expect_error = [&](const char* file, const char* message, std::optional<int> dim = 3) {
    auto segment = HnswSegment::open(dir_, dim, true);
    ASSERT_FALSE(segment) << file;
    EXPECT_EQ(segment.error().code, ErrorCode::kCorruption);
    EXPECT_NE(segment.error().message.find((dir_ / file).string()), std::string::npos)
        << segment.error().message;
    EXPECT_NE(segment.error().message.find(message), std::string::npos) << segment.error().message;
  };
  write_segment(slots);
  fs::remove(dir_ / "data_level0.bin");
  expect_error("data_level0.bin", "cannot open");
  write_segment(slots);
  write_bytes(dir_ / "header.bin", header(2).substr(0, 60));
  expect_error("header.bin", "60 bytes");
  write_segment(slots);
  expect_error("header.bin", "dimension 3 but the collection's is 4", 4);
}

// A short data_level0.bin or length.bin loses the elements past the last whole one, not the
// segment: the rest stay readable and truncation() names the file.
TEST_F(PersistHnswTest, TruncatedFilesKeepTheirWholeElements) {
  const std::vector<Slot> slots{{1, false, {1, 2, 3}, 1.0f}, {2, false, {4, 5, 6}, 2.0f}};
  const std::size_t slot_bytes = 4 + 4 * kMaxM0 + 4 * kDim + 8;  // 40
  struct Case {
    const char* file;
    std::size_t keep;
    std::uint64_t readable;
  };
  for (const Case& c : {Case{"data_level0.bin", slot_bytes + 10, 1}, Case{"length.bin", 3, 0},
                        Case{"length.bin", 4, 1}}) {
    write_segment(slots);
    write_bytes(dir_ / c.file, read_bytes(dir_ / c.file).substr(0, c.keep));
    auto segment = HnswSegment::open(dir_, 3, true);
    ASSERT_TRUE(segment && *segment) << c.file;
    EXPECT_EQ((*segment)->slot_count(), c.readable) << c.file << " " << c.keep;
    EXPECT_NE((*segment)->truncation().find((dir_ / c.file).string() + ": is truncated"),
              std::string::npos)
        << (*segment)->truncation();
    std::uint64_t scanned = 0;
    ASSERT_TRUE((*segment)->scan([&](const HnswSlot&) -> Status {
      ++scanned;
      return ok_status();
    }));
    EXPECT_EQ(scanned, c.readable);
    EXPECT_FALSE((*segment)->read_vector(c.readable)) << "past the readable elements";
    if (c.readable) {
      EXPECT_EQ(*(*segment)->read_vector(0), (std::vector<float>{1, 2, 3}));
    }
  }
  write_segment(slots);
  auto whole = HnswSegment::open(dir_, 3, true);
  ASSERT_TRUE(whole && *whole);
  EXPECT_EQ((*whole)->slot_count(), 2u);
  EXPECT_EQ((*whole)->truncation(), "");
}

TEST_F(PersistHnswTest, ImpossibleNormsAreErrorsNotVectors) {
  for (float norm : {-1.0f, std::nanf(""), INFINITY}) {
    write_segment({{1, false, {1, 0, 0}, norm}});
    auto segment = HnswSegment::open(dir_, 3, true);
    ASSERT_TRUE(segment && *segment);
    auto v = (*segment)->read_vector(0);
    ASSERT_FALSE(v) << norm;
    EXPECT_NE(v.error().message.find("length.bin"), std::string::npos) << v.error().message;
    EXPECT_NE(v.error().message.find("impossible norm"), std::string::npos);
  }
}

}  // namespace
}  // namespace cm
