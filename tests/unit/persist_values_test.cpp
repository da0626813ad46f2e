// The small decoders of the persist reader: a collection's configuration from config_json_str and
// legacy `hnsw:*` keys (common/persist/persist_catalog.hpp), queue metadata JSON and vector blobs
// (persist_values.hpp), and the queue replay rules (queue_overlay.hpp).
#include <gtest/gtest.h>

#include <cstring>

#include "common/persist/persist_catalog.hpp"
#include "common/persist/persist_values.hpp"
#include "common/persist/queue_overlay.hpp"

namespace cm {
namespace {

using nlohmann::json;

CollectionInfo configured(const std::string& config, const Metadata& legacy) {
  CollectionInfo info;
  auto applied = apply_configuration(config, legacy, &info);
  EXPECT_TRUE(applied) << applied.error().message;
  return info;
}

TEST(PersistConfigTest, OneXConfigurationIsReportedInTheHttpApisShape) {
  const std::string stored =
      R"({"vector_index":{"hnsw":{"space":"cosine","ef_construction":150,"ef_search":64,)"
      R"("max_neighbors":32,"resize_factor":1.5,"sync_threshold":500}},)"
      R"("embedding_function":{"type":"known","name":"openai","config":{}}})";
  auto info = configured(stored, {{"hnsw:space", std::string("ip")}});
  EXPECT_EQ(info.hnsw, (HnswConfig{"cosine", 150, 64, 32, 1.5, 500})) << "not defaults: kept";
  EXPECT_EQ(info.configuration["hnsw"]["max_neighbors"], 32);
  EXPECT_TRUE(info.configuration["spann"].is_null());
  EXPECT_EQ(info.configuration["embedding_function"]["name"], "openai");
  EXPECT_FALSE(info.configuration.contains("vector_index"));
}

// Chroma 1.x: a configuration left at its defaults yields to the legacy keys (an upgraded 0.x
// collection); the reported configuration says what is in effect.
TEST(PersistConfigTest, LegacyKeysOverrideADefaultConfiguration) {
  const std::string defaults =
      R"({"vector_index":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,)"
      R"("max_neighbors":16,"resize_factor":1.2,"sync_threshold":1000}},"embedding_function":null})";
  auto info = configured(defaults, {{"hnsw:space", std::string("cosine")},
                                    {"hnsw:M", std::int64_t{48}},
                                    {"hnsw:resize_factor", std::int64_t{2}}});
  EXPECT_EQ(info.hnsw.space, "cosine");
  EXPECT_EQ(info.hnsw.max_neighbors, 48);
  EXPECT_EQ(info.hnsw.resize_factor, 2.0);
  EXPECT_EQ(info.configuration["hnsw"]["space"], "cosine");
}

TEST(PersistConfigTest, ZeroXConfigurationsAndNone) {
  auto v05 = configured(
      R"({"hnsw_configuration":{"space":"ip","M":24,"ef_construction":120,)"
      R"("_type":"HNSWConfigurationInternal"},"_type":"CollectionConfigurationInternal"})",
      {{"hnsw:search_ef", std::int64_t{77}}});
  EXPECT_EQ(v05.hnsw, (HnswConfig{"ip", 120, 77, 24, 1.2, 1000}));
  EXPECT_EQ(v05.configuration["hnsw"], hnsw_to_json(v05.hnsw));
  EXPECT_TRUE(v05.configuration["embedding_function"].is_null());
  auto v04 = configured("", {{"hnsw:space", std::string("cosine")}});
  EXPECT_EQ(v04.hnsw.space, "cosine");
  auto plain = configured("", {});
  EXPECT_EQ(plain.hnsw, HnswConfig{});
}

TEST(PersistConfigTest, InvalidConfigurationsAreCorruptionNotExceptions) {
  for (const char* bad : {"{not json", "[1,2]", R"({"vector_index":{"hnsw":{"space":3}}})",
                          R"({"vector_index":{"hnsw":{"ef_search":"many"}}})",
                          R"({"vector_index":{"hnsw":{"max_neighbors":-1}}})"}) {
    CollectionInfo info;
    auto applied = apply_configuration(bad, {}, &info);
    ASSERT_FALSE(applied) << bad;
    EXPECT_EQ(applied.error().code, ErrorCode::kCorruption);
  }
  CollectionInfo info;
  EXPECT_FALSE(apply_configuration("", {{"hnsw:M", std::string("x")}}, &info));
}

TEST(PersistValuesTest, QueueMetadataKeepsIntsFloatsBoolsAndNulls) {
  auto update = parse_queue_metadata(
      R"({"i":3,"f":3.0,"big":9007199254740993,"b":false,"s":"x","gone":null,)"
      R"("chroma:document":"doc","chroma:uri":"u://1","chroma:other":"hidden"})");
  ASSERT_TRUE(update) << update.error().message;
  Record r;
  r.metadata = {{"gone", std::string("before")}, {"kept", true}};
  apply_metadata_update(*update, &r);
  EXPECT_EQ(r.metadata, (Metadata{{"i", std::int64_t{3}},
                                  {"f", 3.0},
                                  {"big", std::int64_t{9007199254740993}},
                                  {"b", false},
                                  {"s", std::string("x")},
                                  {"kept", true}}));
  EXPECT_EQ(r.document, std::optional<std::string>("doc"));
  EXPECT_EQ(r.uri, std::optional<std::string>("u://1"));
  for (const char* bad :
       {"[1]", "{", R"({"a":[1,2]})", R"({"a":{"b":1}})", R"({"a":18446744073709551615})"}) {
    EXPECT_FALSE(parse_queue_metadata(bad)) << bad;
  }
}

TEST(PersistValuesTest, QueueVectorsDecodeByEncodingAndLength) {
  const float floats[] = {1.5f, -2.0f, 3.25f};
  const std::string blob(reinterpret_cast<const char*>(floats), sizeof floats);
  auto v = decode_queue_vector(blob, "FLOAT32", 3);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  const std::int32_t ints[] = {7, -8};
  auto i = decode_queue_vector({reinterpret_cast<const char*>(ints), sizeof ints}, "INT32", {});
  ASSERT_TRUE(i);
  EXPECT_EQ(*i, (std::vector<float>{7.0f, -8.0f}));
  EXPECT_FALSE(decode_queue_vector(blob, "FLOAT32", 4));                // dimension
  EXPECT_FALSE(decode_queue_vector(blob.substr(0, 5), "FLOAT32", {}));  // not whole floats
  EXPECT_FALSE(decode_queue_vector(blob, "FLOAT16", 3));                // unknown encoding
}

// Chroma's segment writers: add only inserts, update only changes what exists (its vector only
// when the row has one), upsert does both, delete removes; rows at or before the segment's
// position are already applied.
TEST(PersistValuesTest, ReplayFollowsChromasRules) {
  using Op = QueueOp;
  const std::vector<QueueRef> add_then_update{{5, Op::kAdd, true}, {6, Op::kUpdate, true}};
  EXPECT_EQ(replay_vector(false, add_then_update, 0).queue_seq, std::optional<std::int64_t>(6));
  EXPECT_EQ(replay_vector(true, add_then_update, 0).queue_seq, std::optional<std::int64_t>(6))
      << "the add of an existing id is ignored, the update applies";
  EXPECT_FALSE(replay_vector(true, add_then_update, 6).queue_seq) << "both already applied";
  const std::vector<QueueRef> update_without_vector{{9, Op::kUpdate, false}};
  EXPECT_FALSE(replay_vector(true, update_without_vector, 0).queue_seq);
  EXPECT_TRUE(replay_vector(true, update_without_vector, 0).exists);
  EXPECT_FALSE(replay_vector(false, update_without_vector, 0).exists) << "update of nothing";
  const std::vector<QueueRef> delete_then_add{{3, Op::kDelete, false}, {4, Op::kAdd, true}};
  auto readded = replay_vector(true, delete_then_add, 0);
  EXPECT_TRUE(readded.exists);
  EXPECT_EQ(readded.queue_seq, std::optional<std::int64_t>(4));
  EXPECT_FALSE(replay_exists(true, {{{8, Op::kDelete, false}}}, 0));
  EXPECT_TRUE(replay_exists(false, {{{8, Op::kUpsert, true}}}, 0));
  EXPECT_FALSE(replay_exists(false, {{{8, Op::kUpdate, true}}}, 0));
  EXPECT_TRUE(replay_exists(true, {{{8, Op::kDelete, false}}}, 8)) << "already applied";
}

}  // namespace
}  // namespace cm
