#include "common/snapshot/snapshot_format.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <limits>

#include "common/store/canonical.hpp"

namespace cm {
namespace {

std::vector<Record> sample_records() {
  std::vector<Record> records(4);
  records[0].id = "plain";
  records[0].embedding = {1.5f, -2.0f, 3.25f, 0.5f};
  records[0].document = "A document";
  records[0].metadata = {{"i", std::int64_t{3}}, {"f", 1.0}, {"b", true}, {"s", std::string("x")}};

  records[1].id = "ünïcødé-✓-😀";
  records[1].embedding = {std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                          -0.0f, std::numeric_limits<float>::denorm_min()};
  records[1].document = "日本語のテキスト\nwith \"quotes\" and \\ backslash";
  records[1].metadata = {{"名前", std::string("値 ✓")},
                         {"max", std::numeric_limits<std::int64_t>::max()},
                         {"min", std::numeric_limits<std::int64_t>::min()},
                         {"tiny", 4.9e-324},
                         {"third", 1.0 / 3.0}};

  records[2].id = "null-doc";
  records[2].embedding = {0.1f, 0.2f, 0.3f, 0.4f};
  records[2].document = std::nullopt;

  records[3].id = "empty-doc";
  records[3].embedding = {std::bit_cast<float>(0x3F800001u), 0.0f, 1e-38f, -1e38f};
  records[3].document = "";
  return records;
}

TEST(SnapshotFormatTest, RoundTripIsExact) {
  const auto records = sample_records();
  const std::string bytes = encode_part(records, 42);
  auto decoded = decode_part(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->header.write_seq, 42u);
  EXPECT_EQ(decoded->header.record_count, records.size());
  ASSERT_EQ(decoded->records.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& want = records[i];
    const Record& got = decoded->records[i];
    EXPECT_EQ(got, want) << "record " << i;
    EXPECT_EQ(decoded->digests[i], record_digest(want));
    // Bit-exact floats (== would equate 0.0 and -0.0).
    ASSERT_EQ(got.embedding.size(), want.embedding.size());
    EXPECT_EQ(std::memcmp(got.embedding.data(), want.embedding.data(),
                          want.embedding.size() * sizeof(float)),
              0);
    // Types survive: an int stays int, 1.0 stays a float.
    for (const auto& [key, value] : want.metadata) {
      EXPECT_EQ(got.metadata.at(key).index(), value.index()) << key;
    }
  }
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(decoded->records[0].metadata.at("i")));
  EXPECT_TRUE(std::holds_alternative<double>(decoded->records[0].metadata.at("f")));
  EXPECT_FALSE(decoded->records[2].document.has_value());
  ASSERT_TRUE(decoded->records[3].document.has_value());
  EXPECT_EQ(*decoded->records[3].document, "");
}

TEST(SnapshotFormatTest, EmptyPart) {
  const std::string bytes = encode_part({}, 7);
  EXPECT_EQ(bytes.size(), kPartHeaderSize);
  auto decoded = decode_part(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->records.empty());
  EXPECT_EQ(decoded->header.write_seq, 7u);
}

TEST(SnapshotFormatTest, HeaderAndIdsFastPaths) {
  const auto records = sample_records();
  const std::string bytes = encode_part(records, 9);
  auto header = decode_part_header(std::string_view(bytes).substr(0, kPartHeaderSize));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->record_count, records.size());
  EXPECT_EQ(header->write_seq, 9u);
  auto ids = decode_part_ids(bytes);
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ((*ids)[i], records[i].id);
  EXPECT_FALSE(decode_part_header(std::string_view(bytes).substr(0, 10)));
  // Vectors only: ids and bit-exact embeddings, nothing else.
  auto vectors = decode_part_vectors(bytes);
  ASSERT_TRUE(vectors) << vectors.error().message;
  ASSERT_EQ(vectors->size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ((*vectors)[i].id, records[i].id);
    EXPECT_EQ(std::memcmp((*vectors)[i].embedding.data(), records[i].embedding.data(),
                          records[i].embedding.size() * sizeof(float)),
              0);
    EXPECT_FALSE((*vectors)[i].document);
    EXPECT_TRUE((*vectors)[i].metadata.empty());
  }
}

TEST(SnapshotFormatTest, EveryTruncationIsCorruption) {
  const std::string bytes = encode_part(sample_records(), 1);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    const std::string_view cut(bytes.data(), len);
    auto decoded = decode_part(cut);
    ASSERT_FALSE(decoded) << "length " << len;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption) << "length " << len;
    auto ids = decode_part_ids(cut);
    ASSERT_FALSE(ids) << "length " << len;
    EXPECT_EQ(ids.error().code, ErrorCode::kCorruption);
    auto vectors = decode_part_vectors(cut);
    ASSERT_FALSE(vectors) << "length " << len;
    EXPECT_EQ(vectors.error().code, ErrorCode::kCorruption);
  }
}

TEST(SnapshotFormatTest, TrailingBytesAreCorruption) {
  std::string bytes = encode_part(sample_records(), 1);
  bytes.push_back('\0');
  auto decoded = decode_part(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
  EXPECT_NE(decoded.error().message.find("trailing"), std::string::npos);
}

TEST(SnapshotFormatTest, EveryFlippedByteIsDetected) {
  const std::string bytes = encode_part(sample_records(), 1);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    auto decoded = decode_part(damaged);
    // The write_seq is not covered by a digest (it is covered by the manifest's file hash).
    if (i >= 16 && i < kPartHeaderSize) continue;
    ASSERT_FALSE(decoded) << "byte " << i;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption) << "byte " << i;
  }
}

TEST(SnapshotFormatTest, ErrorsNameTheRecordAndOffset) {
  auto records = sample_records();
  std::string bytes = encode_part(records, 1);
  // Flip one float bit of the last record's embedding (before its empty uri and note lengths and
  // its trailing digest).
  bytes[bytes.size() - 17] = static_cast<char>(bytes[bytes.size() - 17] ^ 0x10);
  auto decoded = decode_part(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("record 3"), std::string::npos) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find("empty-doc"), std::string::npos);
  EXPECT_NE(decoded.error().message.find("offset"), std::string::npos);
  EXPECT_NE(decoded.error().message.find("digest"), std::string::npos);
}

TEST(SnapshotFormatTest, BadMagicAndVersion) {
  std::string bytes = encode_part(sample_records(), 1);
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  auto decoded = decode_part(bad_magic);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("magic"), std::string::npos);
  std::string bad_version = bytes;
  bad_version[8] = 3;  // 1 (read only) and 2 are the known versions
  decoded = decode_part(bad_version);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("version"), std::string::npos);
}

TEST(SnapshotFormatTest, WrongRecordCountIsCorruption) {
  std::string bytes = encode_part(sample_records(), 1);
  for (std::uint32_t count : {3u, 5u, 0xFFFFFFFFu}) {
    std::string damaged = bytes;
    std::memcpy(damaged.data() + 12, &count, sizeof count);
    auto decoded = decode_part(damaged);
    ASSERT_FALSE(decoded) << count;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
  }
}

TEST(SnapshotFormatTest, NonCanonicalMetadataIsCorruption) {
  // Hand-build a one-record part whose metadata is valid JSON but not canonical, with a digest
  // computed over those exact bytes: only the canonical-form check can catch it.
  Record r;
  r.id = "x";
  r.embedding = {1.0f};
  const std::string metadata = R"({"b":1, "a":2})";
  std::string bytes = encode_part({}, 1);
  const std::uint32_t one = 1, id_len = 1, doc_len = 0, dim = 1;
  std::memcpy(bytes.data() + 12, &one, 4);
  auto put = [&](const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); };
  put(&id_len, 4);
  bytes += "x";
  bytes.push_back('\0');  // record flags (format 2): no uri, not marked
  bytes.push_back('\0');  // document flag
  put(&doc_len, 4);
  const auto meta_len = static_cast<std::uint32_t>(metadata.size());
  put(&meta_len, 4);
  bytes += metadata;
  put(&dim, 4);
  put(r.embedding.data(), 4);
  const std::uint32_t no_uri = 0, no_note = 0;
  put(&no_uri, 4);
  put(&no_note, 4);
  const std::uint64_t digest = record_digest(r, metadata);
  put(&digest, 8);
  auto decoded = decode_part(bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
  EXPECT_NE(decoded.error().message.find("canonical"), std::string::npos);
}

}  // namespace
}  // namespace cm
