#include "common/store/canonical.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

namespace cm {
namespace {

Record sample() {
  Record r;
  r.id = "doc-1";
  r.embedding = {0.5f, -1.25f, 3.0f};
  r.document = "hello";
  r.metadata = {{"a", std::int64_t{1}}, {"b", 2.5}, {"c", true}, {"d", std::string("x")}};
  return r;
}

TEST(CanonicalTest, MetadataJsonIsCompactSortedAndTyped) {
  Metadata m;
  m["z"] = std::int64_t{3};
  m["a"] = 1.0;
  m["m"] = false;
  m["s"] = std::string("héllo ✓");
  EXPECT_EQ(canonical_metadata_json(m), R"({"a":1.0,"m":false,"s":"héllo ✓","z":3})");
  EXPECT_EQ(canonical_metadata_json({}), "{}");
}

TEST(CanonicalTest, MetadataJsonExtremes) {
  Metadata m;
  m["max"] = std::numeric_limits<std::int64_t>::max();
  m["min"] = std::numeric_limits<std::int64_t>::min();
  m["big"] = 1e300;
  m["neg0"] = -0.0;
  EXPECT_EQ(canonical_metadata_json(m),
            R"({"big":1e+300,"max":9223372036854775807,"min":-9223372036854775808,"neg0":-0.0})");
}

// canonical_metadata_json writes the bytes itself; the digests of every snapshot written before are
// defined by nlohmann's dump of the same metadata. The two must agree on every input.
std::string nlohmann_dump(const Metadata& m) {
  if (m.empty()) return "{}";
  return metadata_to_json(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string random_text(std::mt19937_64& rng) {
  static const std::vector<std::string> pieces = {
      "a",      "Z",    " ",    "\"",          "\\", "/",
      "\b",     "\f",   "\n",   "\r",          "\t", std::string(1, '\0'),
      "\x01",   "\x1f", "\x7f", "é",           "✓",  "😀",
      "\u2028", "\xff", "\xc3", "\xed\xa0\x80"};
  std::string out;
  const auto n = rng() % 8;
  for (std::uint64_t i = 0; i < n; ++i) out += pieces[rng() % pieces.size()];
  return out;
}

TEST(CanonicalTest, MetadataJsonIsNlohmannsDumpOnRandomInputs) {
  std::mt19937_64 rng(20261128);
  const std::vector<double> floats = {0.0,
                                      -0.0,
                                      1.0,
                                      -1.0,
                                      0.1,
                                      1e-300,
                                      5e-324,
                                      1e20,
                                      1e21,
                                      1.7976931348623157e308,
                                      123456789.125,
                                      -2.5e-7,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity()};
  int fallback = 0;
  for (int round = 0; round < 3000; ++round) {
    Metadata m;
    const auto keys = rng() % 6;
    for (std::uint64_t k = 0; k < keys; ++k) {
      const std::string key = random_text(rng);
      switch (rng() % 5) {
        case 0:
          m[key] = random_text(rng);
          break;
        case 1:
          m[key] = static_cast<std::int64_t>(rng());
          break;
        case 2:
          m[key] = floats[rng() % floats.size()];
          break;
        case 3:
          m[key] = std::bit_cast<double>(rng() & 0x7fefffffffffffffULL);
          break;
        default:
          m[key] = (rng() & 1) != 0;
          break;
      }
    }
    if (metadata_not_representable_reason(m)) ++fallback;
    ASSERT_EQ(canonical_metadata_json(m), nlohmann_dump(m)) << "round " << round;
  }
  EXPECT_GT(fallback, 100);  // the invalid-UTF-8 and non-finite paths were exercised too
}

TEST(CanonicalTest, KeyInsertionOrderDoesNotMatter) {
  Record a = sample(), b = sample();
  a.metadata.clear();
  b.metadata.clear();
  a.metadata.emplace("first", std::int64_t{1});
  a.metadata.emplace("second", std::string("two"));
  b.metadata.emplace("second", std::string("two"));
  b.metadata.emplace("first", std::int64_t{1});
  EXPECT_EQ(record_digest(a), record_digest(b));
}

TEST(CanonicalTest, IntFloatBoolAndStringAreDistinct) {
  Record r = sample();
  r.metadata = {{"k", std::int64_t{1}}};
  const auto as_int = record_digest(r);
  r.metadata = {{"k", 1.0}};
  const auto as_float = record_digest(r);
  r.metadata = {{"k", true}};
  const auto as_bool = record_digest(r);
  r.metadata = {{"k", std::string("1")}};
  const auto as_string = record_digest(r);
  EXPECT_NE(as_int, as_float);
  EXPECT_NE(as_int, as_bool);
  EXPECT_NE(as_float, as_bool);
  EXPECT_NE(as_string, as_int);
  EXPECT_NE(as_string, as_bool);
}

TEST(CanonicalTest, NullAndEmptyDocumentAreDistinct) {
  Record r = sample();
  r.document = std::nullopt;
  const auto null_doc = record_digest(r);
  r.document = "";
  EXPECT_NE(null_doc, record_digest(r));
}

TEST(CanonicalTest, OneFloatBitChangesTheDigest) {
  Record r = sample();
  const auto before = record_digest(r);
  auto bits = std::bit_cast<std::uint32_t>(r.embedding[1]);
  r.embedding[1] = std::bit_cast<float>(bits ^ 1u);
  EXPECT_NE(before, record_digest(r));
}

TEST(CanonicalTest, FieldBoundariesAreUnambiguous) {
  // Moving bytes between adjacent fields must change the digest.
  Record a = sample(), b = sample();
  a.id = "ab";
  a.document = "c";
  b.id = "a";
  b.document = "bc";
  EXPECT_NE(record_digest(a), record_digest(b));
  Record c = sample();
  c.metadata.clear();
  EXPECT_NE(record_digest(sample()), record_digest(c));
  EXPECT_EQ(record_digest(sample()), record_digest(sample()));
}

TEST(CanonicalTest, DigestWithPrecomputedMetadataMatches) {
  Record r = sample();
  EXPECT_EQ(record_digest(r), record_digest(r, canonical_metadata_json(r.metadata)));
}

TEST(CanonicalTest, ContentDigestIsOrderIndependent) {
  std::vector<std::uint64_t> digests = {5, 1, 99, 42, 7};
  std::vector<std::uint64_t> reversed(digests.rbegin(), digests.rend());
  const std::string d = content_digest(digests);
  EXPECT_EQ(d, content_digest(reversed));
  EXPECT_EQ(d.size(), 32u);
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef"), std::string::npos);
  digests.pop_back();
  EXPECT_NE(d, content_digest(digests));
  EXPECT_EQ(content_digest({}).size(), 32u);
  EXPECT_NE(content_digest({}), content_digest({0}));
}

TEST(CanonicalTest, HexHelpers) {
  EXPECT_EQ(hex64(0), "0000000000000000");
  EXPECT_EQ(hex64(0xDEADBEEF0123ULL), "0000deadbeef0123");
  EXPECT_EQ(parse_hex64("0000DEADbeef0123"), 0xDEADBEEF0123ULL);
  EXPECT_EQ(parse_hex64(hex64(~0ULL)), ~0ULL);
  EXPECT_FALSE(parse_hex64("123"));
  EXPECT_FALSE(parse_hex64("000000000000000g"));
  EXPECT_EQ(xxh3_64_hex("abc"), hex64(xxh3_64("abc")));
}

TEST(CanonicalTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("é ✓ 😀"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));
  Metadata bad = {{"k", std::string("\xFF")}};
  EXPECT_TRUE(metadata_not_representable_reason(bad));
  Metadata nan = {{"k", std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_TRUE(metadata_not_representable_reason(nan));
  EXPECT_FALSE(metadata_not_representable_reason(sample().metadata));
}

TEST(CanonicalTest, IdHashDistinguishesIds) {
  EXPECT_EQ(id_hash("a"), id_hash("a"));
  EXPECT_FALSE(id_hash("a") == id_hash("b"));
}

}  // namespace
}  // namespace cm
