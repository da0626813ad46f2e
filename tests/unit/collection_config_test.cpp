// The collection configuration end to end without a server: what a create request sends
// (create_configuration), how a get answer's uris are read and an upsert's uris written, and how
// validation compares a configuration with the planned one (configuration_differences).
#include <gtest/gtest.h>

#include "common/chroma/chroma_wire.hpp"
#include "common/store/collection_config.hpp"

namespace cm {
namespace {

using nlohmann::json;

const json kOpenAi = {
    {"type", "known"}, {"name", "openai"}, {"config", {{"model_name", "text-embedding-3-small"}}}};

TEST(CollectionConfigTest, CreateSendsTheWholeConfigurationWithThePlannedHnsw) {
  CollectionSpec spec;
  spec.name = "docs";
  spec.hnsw = HnswConfig{"cosine", 200, 50, 32, 1.5, 500};
  spec.configuration = {{"hnsw", {{"space", "l2"}, {"ef_search", 10}}},
                        {"spann", nullptr},
                        {"embedding_function", kOpenAi},
                        {"future_key", {{"a", 1}}}};
  const json body = json::parse(encode_create_collection_body(spec));
  const json& c = body["configuration"];
  EXPECT_EQ(c["embedding_function"], kOpenAi);
  EXPECT_EQ(c["future_key"], json({{"a", 1}}));  // unknown keys pass through verbatim
  EXPECT_TRUE(c["spann"].is_null());
  EXPECT_EQ(c["hnsw"], hnsw_to_json(spec.hnsw));  // the planned (mapped) parameters win
}

TEST(CollectionConfigTest, CreateDropsZeroXInternalsAndSendsSpannAlone) {
  CollectionSpec spec;
  spec.name = "docs";
  spec.configuration = {{"_type", "CollectionConfigurationInternal"},
                        {"hnsw_configuration", {{"space", "ip"}}}};
  json c = create_configuration(spec);
  EXPECT_FALSE(c.contains("_type"));
  EXPECT_FALSE(c.contains("hnsw_configuration"));
  EXPECT_EQ(c["hnsw"], hnsw_to_json(spec.hnsw));
  spec.configuration = {{"spann", {{"space", "cosine"}}}, {"hnsw", nullptr}};
  c = create_configuration(spec);
  EXPECT_FALSE(c.contains("hnsw"));  // Chroma: hnsw and spann together are a 400
  EXPECT_EQ(c["spann"], json({{"space", "cosine"}}));
}

TEST(CollectionConfigTest, GetReadsUrisAndUpsertWritesThem) {
  auto records = parse_get_records(
      R"({"ids":["a","b","c"],"embeddings":[[1],[2],[3]],"documents":[null,"d",null],)"
      R"("metadatas":[null,{},{"k":1}],"uris":["s3://x/a",null,""]})");
  ASSERT_TRUE(records) << records.error().message;
  EXPECT_EQ((*records)[0].uri, std::optional<std::string>("s3://x/a"));
  EXPECT_FALSE((*records)[1].uri);
  EXPECT_EQ((*records)[2].uri, std::optional<std::string>(""));
  // A server that sends no uris (or null): every uri is null.
  auto older = parse_get_records(
      R"({"ids":["a"],"embeddings":[[1]],"documents":[null],"metadatas":[null],"uris":null})");
  ASSERT_TRUE(older) << older.error().message;
  EXPECT_FALSE((*older)[0].uri);
  EXPECT_FALSE(parse_get_records(
      R"({"ids":["a"],"embeddings":[[1]],"documents":[null],"metadatas":[null],"uris":[]})"));

  for (bool base64 : {false, true}) {
    const json body = json::parse(encode_upsert_body(*records, base64));
    EXPECT_EQ(body["uris"], json({"s3://x/a", nullptr, ""}));
  }
  (*records)[0].uri.reset();
  (*records)[2].uri.reset();
  EXPECT_FALSE(json::parse(encode_upsert_body(*records, false)).contains("uris"));
  const std::vector<std::string> ids = {"a"};
  EXPECT_EQ(json::parse(encode_get_by_ids_body(ids))["include"],
            json({"embeddings", "documents", "metadatas", "uris"}));
}

TEST(CollectionConfigTest, DifferencesNameTheKeyAndTreatAbsentAsNull) {
  const json planned = {{"hnsw", {{"space", "cosine"}, {"ef_search", 50}}},
                        {"embedding_function", kOpenAi}};
  // What Chroma 1.0.5 answers for a collection created from `planned`.
  json served = {{"hnsw", hnsw_to_json(HnswConfig{"cosine", 100, 50, 16, 1.2, 1000})},
                 {"spann", nullptr},
                 {"embedding_function", kOpenAi}};
  EXPECT_TRUE(configuration_differences(planned, served).empty());
  served["embedding_function"] = nullptr;
  auto diff = configuration_differences(planned, served);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_NE(diff[0].find("embedding_function: planned {"), std::string::npos) << diff[0];
  EXPECT_NE(diff[0].find("found null"), std::string::npos) << diff[0];
  served["embedding_function"] = kOpenAi;
  served["embedding_function"]["config"]["model_name"] = "text-embedding-3-large";
  EXPECT_EQ(configuration_differences(planned, served).size(), 1u);
  served["embedding_function"] = kOpenAi;
  served["hnsw"]["ef_search"] = 100;
  diff = configuration_differences(planned, served);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0], "hnsw.ef_search: planned 50, found 100");
  // 0.x internals are not compared; an old snapshot's configuration equals a 1.x answer.
  EXPECT_TRUE(configuration_differences(
                  {{"_type", "x"}, {"hnsw_configuration", {{"M", 4}}}, {"hnsw", nullptr}},
                  {{"hnsw", hnsw_to_json(HnswConfig{})},
                   {"spann", nullptr},
                   {"embedding_function", nullptr}})
                  .empty());
  EXPECT_TRUE(configuration_differences(json::object(), json()).empty());
}

}  // namespace
}  // namespace cm
