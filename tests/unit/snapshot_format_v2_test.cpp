// Snapshot format 2 (docs/snapshot-format.md): uris in part files and record digests, record marks
// (tombstones, unrecoverable), the manifest's generation/base/shard fields, and reading format 1
// snapshots written by the previous version (a fixture built here byte for byte).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "common/snapshot/snapshot_format.hpp"
#include "common/snapshot/snapshot_manifest.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

std::vector<Record> records_with_uris() {
  std::vector<Record> out(4);
  out[0].id = "with-uri";
  out[0].embedding = {1.5f, -2.0f};
  out[0].document = "doc";
  out[0].metadata = {{"k", std::int64_t{1}}};
  out[0].uri = "s3://bucket/a.png";
  out[1].id = "null-uri";
  out[1].embedding = {0.25f, 3.0f};
  out[2].id = "empty-uri";
  out[2].embedding = {0.0f, -0.0f};
  out[2].uri = "";
  out[3].id = "unicode-uri";
  out[3].embedding = {7.0f, 8.0f};
  out[3].uri = "https://example.org/\xc3\xa9t\xc3\xa9?a=\"b\"";
  return out;
}

// The previous writer (format 1), kept here byte for byte to build old snapshots.
template <typename T>
void put(std::string* out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out->append(buf, sizeof(T));
}
void put_bytes(std::string* out, std::string_view bytes) {
  put(out, static_cast<std::uint32_t>(bytes.size()));
  out->append(bytes);
}
// Format 1's record digest as the old code computed it (docs: id, embedding, document flag,
// document, metadata), written out independently of record_digest().
std::uint64_t v1_digest(const Record& r) {
  std::string framed;
  auto u64 = [&](std::uint64_t v) { put(&framed, v); };
  u64(r.id.size());
  framed += r.id;
  u64(r.embedding.size() * sizeof(float));
  framed.append(reinterpret_cast<const char*>(r.embedding.data()),
                r.embedding.size() * sizeof(float));
  framed.push_back(r.document ? 1 : 0);
  u64(r.document ? r.document->size() : 0);
  if (r.document) framed += *r.document;
  const std::string meta = canonical_metadata_json(r.metadata);
  u64(meta.size());
  framed += meta;
  return XXH3_64bits(framed.data(), framed.size());
}
std::string encode_part_v1(const std::vector<Record>& records, std::uint64_t write_seq) {
  std::string out = "CMSNAP01";
  put(&out, std::uint32_t{1});
  put(&out, static_cast<std::uint32_t>(records.size()));
  put(&out, write_seq);
  for (const auto& r : records) {
    put_bytes(&out, r.id);
    put(&out, static_cast<std::uint8_t>(r.document ? 1 : 0));
    put_bytes(&out, r.document ? std::string_view(*r.document) : std::string_view());
    put_bytes(&out, canonical_metadata_json(r.metadata));
    put(&out, static_cast<std::uint32_t>(r.embedding.size()));
    out.append(reinterpret_cast<const char*>(r.embedding.data()),
               r.embedding.size() * sizeof(float));
    put(&out, v1_digest(r));
  }
  return out;
}

std::vector<Record> without_uris(std::vector<Record> records) {
  for (auto& r : records) r.uri.reset();
  return records;
}

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

TEST(SnapshotFormatV2Test, UrisRoundTripAndNullStaysNull) {
  const auto records = records_with_uris();
  const std::string bytes = encode_part(records, 3);
  auto decoded = decode_part(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->header.format_version, 2u);
  EXPECT_EQ(decoded->records, records);
  EXPECT_FALSE(decoded->records[1].uri.has_value());
  EXPECT_EQ(decoded->records[2].uri, std::optional<std::string>(""));
  EXPECT_TRUE(decoded->marks.empty());
}

TEST(SnapshotFormatV2Test, DigestCoversUriAndRecordsWithoutUriKeepTheFormat1Digest) {
  for (const auto& r : without_uris(records_with_uris())) EXPECT_EQ(record_digest(r), v1_digest(r));
  Record a = records_with_uris()[0];
  Record b = a;
  b.uri = "s3://bucket/b.png";
  EXPECT_NE(record_digest(a), record_digest(b));
  Record null_uri = a, empty_uri = a;
  null_uri.uri.reset();
  empty_uri.uri = "";
  EXPECT_NE(record_digest(null_uri), record_digest(empty_uri));
  // A uri's bytes cannot move into the metadata unnoticed (every field is length-prefixed).
  EXPECT_NE(content_digest({record_digest(a)}), content_digest({record_digest(null_uri)}));
}

TEST(SnapshotFormatV2Test, Format1PartsStillDecode) {
  const auto records = without_uris(records_with_uris());
  const std::string bytes = encode_part_v1(records, 5);
  auto decoded = decode_part(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->header.format_version, 1u);
  EXPECT_EQ(decoded->header.write_seq, 5u);
  EXPECT_EQ(decoded->records, records);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(decoded->digests[i], v1_digest(records[i]));
  }
  auto ids = decode_part_ids(bytes);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->size(), records.size());
  auto vectors = decode_part_vectors(bytes);
  ASSERT_TRUE(vectors);
  EXPECT_EQ((*vectors)[3].embedding, records[3].embedding);
  // A damaged format-1 part is still detected.
  std::string damaged = bytes;
  damaged[damaged.size() - 12] ^= 0x01;
  EXPECT_FALSE(decode_part(damaged));
}

TEST(SnapshotFormatV2Test, MarksRoundTripAreDigestedAndSurviveARewrite) {
  std::vector<Record> records(3);
  records[0].id = "live";
  records[0].embedding = {1, 2};
  records[1].id = "gone";  // a tombstone holds only its id
  records[2].id = "broken";
  records[2].embedding = {3, 4};
  records[2].uri = "s3://x";
  std::vector<RecordMark> marks(3);
  marks[1].kind = RecordMark::Kind::kTombstone;
  marks[2] = {RecordMark::Kind::kUnrecoverable, "embedding unreadable in the source"};
  const std::string bytes = encode_part(records, marks, 9);
  auto decoded = decode_part(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->records, records);
  ASSERT_EQ(decoded->marks.size(), 2u);
  EXPECT_EQ(decoded->marks[0], (std::pair<std::uint32_t, RecordMark>{1, marks[1]}));
  EXPECT_EQ(decoded->marks[1], (std::pair<std::uint32_t, RecordMark>{2, marks[2]}));
  EXPECT_NE(decoded->digests[1], record_digest(records[1]));  // the mark is digested
  auto index = decode_part_index(bytes);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->tombstones, 1u);
  EXPECT_EQ(index->unrecoverable, 1u);
  // Every flipped byte outside the write_seq is detected, the marks' included.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i >= 16 && i < kPartHeaderSize) continue;
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_FALSE(decode_part(damaged)) << "byte " << i;
  }
  // Dropping the live record keeps the other two marked, re-indexed.
  std::string rewritten =
      reencode_part_without(*decoded, [](const Record& r) { return r.id == "live"; });
  auto again = decode_part(rewritten);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->marks.size(), 2u);
  EXPECT_EQ(again->marks[0].first, 0u);
  EXPECT_EQ(again->marks[1].second.note, "embedding unreadable in the source");
  EXPECT_EQ(again->header.write_seq, 9u);
}

TEST(SnapshotFormatV2Test, ATombstoneWithContentIsCorruption) {
  std::vector<Record> records(1);
  records[0].id = "gone";
  records[0].embedding = {1};
  std::vector<RecordMark> marks(1);
  marks[0].kind = RecordMark::Kind::kTombstone;
  auto decoded = decode_part(encode_part(records, marks, 1));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
  EXPECT_NE(decoded.error().message.find("tombstone"), std::string::npos);
}

SnapshotManifest sample_manifest() {
  SnapshotManifest m;
  m.created_at = "2026-11-28T00:00:00Z";
  m.description = "d";
  ManifestCollection c;
  c.info.name = "docs";
  c.info.configuration = {{"embedding_function", {{"type", "legacy"}}}};
  c.record_count = 3;
  c.content_digest = std::string(32, '0');
  c.parts.push_back({"part-0000000000000001.rec", 3, 100, "0000000000000002"});
  m.collections.push_back(c);
  return m;
}

TEST(SnapshotFormatV2Test, ManifestGenerationBaseShardAndMarkCountsRoundTrip) {
  SnapshotManifest m = sample_manifest();
  m.generation = 2;
  m.base = ManifestBase{1, "0123456789abcdef"};
  m.shard = ManifestShard{1, 4};
  m.collections[0].tombstones = 1;
  m.collections[0].unrecoverable = 1;
  const nlohmann::json j = manifest_to_json(m);
  EXPECT_EQ(j["format_version"], 2);
  auto parsed = parse_manifest(j.dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format_version, 2);
  EXPECT_EQ(parsed->generation, 2u);
  EXPECT_EQ(parsed->base, m.base);
  EXPECT_EQ(parsed->shard, m.shard);
  EXPECT_EQ(parsed->collections[0].tombstones, 1u);
  EXPECT_EQ(parsed->collections[0].unrecoverable, 1u);
  EXPECT_EQ(parsed->collections[0].info.configuration, m.collections[0].info.configuration);

  // Defaults: a full snapshot of the whole source.
  const nlohmann::json plain = manifest_to_json(sample_manifest());
  EXPECT_EQ(plain["generation"], 0);
  EXPECT_TRUE(plain["base"].is_null());
  EXPECT_TRUE(plain["shard"].is_null());
  auto defaults = parse_manifest(plain.dump());
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_FALSE(defaults->base);
  EXPECT_FALSE(defaults->shard);
}

TEST(SnapshotFormatV2Test, ManifestInvariantsAreChecked) {
  auto broken = [](auto&& edit) {
    nlohmann::json j = manifest_to_json(sample_manifest());
    edit(j);
    auto parsed = parse_manifest(j.dump());
    EXPECT_FALSE(parsed) << j.dump();
    return parsed ? std::string() : parsed.error().message;
  };
  EXPECT_NE(broken([](auto& j) { j["generation"] = 1; }).find("no base"), std::string::npos);
  EXPECT_NE(broken([](auto& j) {
              j["base"] = {{"generation", 0}, {"manifest_xxh3_64", "0123456789abcdef"}};
            }).find("has a base"),
            std::string::npos);
  broken([](auto& j) {
    j["generation"] = 1;
    j["base"] = {{"generation", 1}, {"manifest_xxh3_64", "0123456789abcdef"}};
  });
  broken([](auto& j) {
    j["generation"] = 1;
    j["base"] = {{"generation", 0}, {"manifest_xxh3_64", "XYZ"}};
  });
  EXPECT_NE(broken([](auto& j) {
              j["shard"] = {{"index", 4}, {"count", 4}};
            }).find("shard"),
            std::string::npos);
  broken([](auto& j) { j["collections"][0]["tombstones"] = 1; });  // tombstones in generation 0
  broken([](auto& j) { j["collections"][0]["unrecoverable"] = 4; });
  broken([](auto& j) { j.erase("generation"); });  // format 2 writes every field
  broken([](auto& j) { j["format_version"] = 3; });
}

TEST(SnapshotFormatV2Test, Format1ManifestReadsWithDefaults) {
  nlohmann::json j = manifest_to_json(sample_manifest());
  j["format_version"] = 1;
  j.erase("generation");
  j.erase("base");
  j.erase("shard");
  j["collections"][0].erase("tombstones");
  j["collections"][0].erase("unrecoverable");
  auto parsed = parse_manifest(j.dump());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format_version, 1);
  EXPECT_EQ(parsed->generation, 0u);
  EXPECT_FALSE(parsed->base);
  EXPECT_EQ(parsed->collections[0].tombstones, 0u);
}

// A whole snapshot directory as the previous version wrote it (format 1 manifest and parts, no
// uris): it verifies, opens, reads back and can be resealed (which writes format 2).
TEST(SnapshotFormatV2Test, AFormat1SnapshotVerifiesAndReads) {
  const fs::path dir = testing::make_temp_dir("snapshot-v1");
  const auto records = without_uris(records_with_uris());
  const std::string part = encode_part_v1(records, 1);
  const std::string part_name = "part-00000000000000aa.rec";
  fs::create_directories(dir / "collections" / "docs");
  const nlohmann::json info = {{"name", "docs"},
                               {"id", "3f2b8c1e"},
                               {"metadata", {{"owner", "t"}}},
                               {"hnsw", hnsw_to_json(HnswConfig{})},
                               {"configuration", {{"hnsw", hnsw_to_json(HnswConfig{})}}},
                               {"dimension", 2}};
  write(dir / "collections" / "docs" / "collection.json", info.dump(2));
  write(dir / "collections" / "docs" / part_name, part);
  std::vector<std::uint64_t> digests;
  for (const auto& r : records) digests.push_back(v1_digest(r));
  nlohmann::json entry = info;
  entry["record_count"] = records.size();
  entry["content_digest"] = content_digest(digests);
  entry["parts"] = nlohmann::json::array({{{"file", part_name},
                                           {"records", records.size()},
                                           {"bytes", part.size()},
                                           {"xxh3_64", xxh3_64_hex(part)}}});
  const nlohmann::json manifest = {{"format", "chroma-migrate-snapshot"},
                                   {"format_version", 1},
                                   {"created_at", "2025-05-01T12:00:00Z"},
                                   {"description", "written by format 1"},
                                   {"collections", nlohmann::json::array({entry})}};
  write(dir / "manifest.json", manifest.dump(2));

  auto report = verify_snapshot(dir);
  ASSERT_TRUE(report) << report.error().message;
  for (const auto& p : report->problems) ADD_FAILURE() << p.file << ": " << p.message;
  EXPECT_EQ(report->records_checked, records.size());

  {
    auto store = SnapshotStore::open(dir, SnapshotStore::Mode::kRead);
    ASSERT_TRUE(store) << store.error().message;
    auto c = (*store)->find_collection("docs");
    ASSERT_TRUE(c && *c);
    auto got = (*store)->get_records(**c, std::vector<std::string>{"with-uri", "null-uri"});
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), 2u);
    for (const auto& r : *got) EXPECT_FALSE(r.uri.has_value());
    ASSERT_TRUE((*store)->manifest());
    EXPECT_EQ((*store)->manifest()->collections[0].content_digest,
              entry["content_digest"].get<std::string>());
  }
  {  // Adding a record with a uri reseals as format 2; the old records keep their digests.
    auto store = SnapshotStore::open(dir, SnapshotStore::Mode::kWrite);
    ASSERT_TRUE(store) << store.error().message;
    auto c = (*store)->find_collection("docs");
    ASSERT_TRUE(c && *c);
    Record extra = records_with_uris()[0];
    extra.id = "extra";
    ASSERT_TRUE((*store)->upsert(**c, std::span(&extra, 1)));
    ASSERT_TRUE((*store)->flush());
    auto m = (*store)->manifest();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->format_version, 2);
    digests.push_back(record_digest(extra));
    EXPECT_EQ(m->collections[0].content_digest, content_digest(digests));
  }
  auto again = verify_snapshot(dir);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->problems.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cm
