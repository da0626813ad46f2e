// The pickle reader (common/persist/pickle_reader.hpp) and the label map built on it
// (common/persist/index_metadata.hpp), on pickles Debian's python3 wrote
// (tests/data/persist/make_pickles.py: 0.4-0.6's PersistentData object in protocols 2, 4 and 5,
// the 1.x dict) and on the real serde_pickle files of the 1.0.5 fixture directory; then on damaged
// and hostile input, which must give an error value, never a crash (run under ASan by CI's
// sanitizer pass).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "common/persist/index_metadata.hpp"
#include "common/persist/pickle_reader.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

using persist_test::data_dir;
using persist_test::read_bytes;

std::map<std::string, std::uint64_t> as_map(const IndexMetadata& m) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& e : m.labels) out[e.id] = e.label;
  return out;
}

TEST(PersistPickleTest, ReadsPersistentDataObjectsOfEveryProtocol) {
  for (const char* file :
       {"persistent-data-p2.pickle", "persistent-data-p4.pickle", "persistent-data-p5.pickle"}) {
    SCOPED_TRACE(file);
    auto m = parse_index_metadata(read_bytes(data_dir() / file));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->shape, IndexMetadata::Shape::kPersistentData);
    EXPECT_EQ(m->total_elements_added, 1200u);
    EXPECT_EQ(m->max_seq_id, std::optional<std::uint64_t>((std::uint64_t{1} << 33) + 9));
    EXPECT_EQ(m->dimensionality, std::optional<std::uint64_t>(384));
    const auto labels = as_map(*m);
    ASSERT_EQ(labels.size(), 1200u);
    EXPECT_EQ(labels.at("rec-0000"), 1u);
    EXPECT_EQ(labels.at("rec-0256"), 257u);  // past the 256 one-byte memo slots
    EXPECT_EQ(labels.at("rec-1198"), 1199u);
    EXPECT_EQ(labels.at("rec-1199"), (std::uint64_t{1} << 40) + 5);  // LONG1
  }
}

TEST(PersistPickleTest, ReadsThe1xDictShape) {
  auto m = parse_index_metadata(read_bytes(data_dir() / "dict-p3.pickle"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->shape, IndexMetadata::Shape::kDict);
  EXPECT_EQ(m->total_elements_added, 3u);
  EXPECT_FALSE(m->max_seq_id);
  EXPECT_FALSE(m->dimensionality);
  EXPECT_EQ(as_map(*m), (std::map<std::string, std::uint64_t>{
                            {"rec-0000", 70000}, {"rec-0001", 70001}, {"rec-0002", 70002}}));
}

// serde_pickle's own output (no memo, BININT labels), as the real server wrote it.
TEST(PersistPickleTest, ReadsTheRealServersPickles) {
  const auto dir = testing::make_temp_dir("persist-pickle");
  auto unpacked = persist_test::unpack_persist_fixture(dir);
  ASSERT_TRUE(unpacked) << unpacked.error().message;
  const auto files = persist_test::pickles_under(*unpacked);
  ASSERT_EQ(files.size(), 4u);  // gamma and query_{l2,cosine,ip}: the collections that persisted
  std::multiset<std::size_t> sizes;
  for (const auto& file : files) {
    auto m = parse_index_metadata(read_bytes(file));
    ASSERT_TRUE(m) << file << ": " << m.error().message;
    EXPECT_EQ(m->shape, IndexMetadata::Shape::kDict);
    EXPECT_EQ(m->total_elements_added, m->labels.size());
    sizes.insert(m->labels.size());
    if (m->labels.size() == 25) {  // gamma: id-0 .. id-24, labels 1 .. 25
      std::set<std::uint64_t> labels;
      for (const auto& e : m->labels) labels.insert(e.label);
      EXPECT_EQ(*labels.begin(), 1u);
      EXPECT_EQ(*labels.rbegin(), 25u);
      EXPECT_TRUE(as_map(*m).contains("id-24"));
    }
  }
  EXPECT_EQ(sizes, (std::multiset<std::size_t>{25, 60, 60, 60}));
  std::filesystem::remove_all(dir);
}

TEST(PersistPickleTest, RejectsLabelMapsThatAreNotOne) {
  auto disagree = parse_index_metadata(read_bytes(data_dir() / "disagreeing-maps.pickle"));
  ASSERT_FALSE(disagree);
  EXPECT_EQ(disagree.error().code, ErrorCode::kCorruption);
  EXPECT_NE(disagree.error().message.find("disagree"), std::string::npos)
      << disagree.error().message;
  auto other = parse_index_metadata(read_bytes(data_dir() / "other-class.pickle"));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("elsewhere.Other"), std::string::npos)
      << other.error().message;
  auto list = parse_index_metadata(std::string("\x80\x03]q\x00.", 6));
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message.find("list"), std::string::npos) << list.error().message;
}

TEST(PersistPickleTest, EveryTruncationIsAnErrorNamingTheOffset) {
  for (const char* file : {"dict-p3.pickle", "persistent-data-p5.pickle"}) {
    const std::string bytes = read_bytes(data_dir() / file);
    const std::size_t step = bytes.size() > 1000 ? 37 : 1;
    for (std::size_t n = 0; n < bytes.size(); n += step) {
      auto parsed = pickle::parse(std::string_view(bytes).substr(0, n));
      ASSERT_FALSE(parsed) << file << " cut at " << n;
      EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
      EXPECT_NE(parsed.error().message.find("offset"), std::string::npos);
    }
  }
}

TEST(PersistPickleTest, FlippedBytesNeverCrash) {
  const std::string original = read_bytes(data_dir() / "persistent-data-p5.pickle");
  std::mt19937 rng(12);
  int errors = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = original;
    for (int flips = 0; flips < 3; ++flips) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    errors += parse_index_metadata(bytes) ? 0 : 1;  // either outcome, as long as it returns
  }
  EXPECT_GT(errors, 0);
}

TEST(PersistPickleTest, HostileStructuresAreErrorsOrHarmless) {
  struct Case {
    std::string bytes;
    const char* message;  // expected in the error; nullptr: must parse
  } cases[] = {
      {std::string("\x80\x03}q\x00.junk", 10), "follow the STOP"},
      {std::string("\x80\x03P.", 4), "unsupported pickle opcode 0x50"},
      {std::string("\x80\x03}(K\x01u.", 8), "odd number"},
      {std::string("\x80\x03h\x05.", 5), "never stored"},
      {std::string("\x80\x03K\x01N\x62.", 7), "BUILD on a int"},
      {std::string("\x80\x03K\x01K\x02\x93.", 8), "STACK_GLOBAL of non-strings"},
      {std::string("\x80\x09.", 3), "protocol 9"},
      {std::string("\x80\x03X\xff\xff\xff\x7f"
                   "ab.",
                   10),
       "runs past the end"},
      {std::string("\x80\x03\x8a\x09"
                   "123456789.",
                   14),
       "does not fit 64 bits"},
      {std::string("\x80\x03K\x01K\x02.", 7), "STOP with 2 values"},
      // A list that contains itself: parses, and frees without a leak or a loop.
      {std::string("\x80\x03]q\x00h\x00"
                   "a.",
                   9),
       nullptr},
  };
  for (const auto& c : cases) {
    auto parsed = pickle::parse(c.bytes);
    if (!c.message) {
      EXPECT_TRUE(parsed) << parsed.error().message;
      continue;
    }
    ASSERT_FALSE(parsed) << c.message;
    EXPECT_NE(parsed.error().message.find(c.message), std::string::npos) << parsed.error().message;
  }
}

// A chain of 200,000 nested lists: no recursion when parsing or freeing it.
TEST(PersistPickleTest, DeepNestingDoesNotExhaustTheStack) {
  constexpr int kDepth = 200000;
  std::string bytes = "\x80\x03";
  for (int i = 0; i < kDepth; ++i) bytes += ']';
  for (int i = 1; i < kDepth; ++i) bytes += 'a';
  bytes += '.';
  auto parsed = pickle::parse(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->arena->lists.size(), static_cast<std::size_t>(kDepth));
}

}  // namespace
}  // namespace cm
