#include "common/chroma/chroma_wire.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "common/base/base64.hpp"

namespace cm {
namespace {

using nlohmann::json;

std::string get_body(const std::string& embeddings, const std::string& documents = "[null]",
                     const std::string& metadatas = "[null]", const std::string& ids = R"(["a"])") {
  return R"({"ids":)" + ids + R"(,"embeddings":)" + embeddings + R"(,"documents":)" + documents +
         R"(,"uris":null,"metadatas":)" + metadatas +
         R"(,"include":["embeddings","documents","metadatas"]})";
}

std::uint32_t bits(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

TEST(ChromaWireTest, FloatsParseStraightToFloat32) {
  const std::vector<std::string> texts = {"0.1",
                                          "0.30000001192092896",
                                          "0.123456789012345",
                                          "1e-45",
                                          "-0.0",
                                          "3.4028234663852886e38",
                                          "1.0000000596046448",
                                          "16777217",
                                          "-2.5E-3",
                                          "0"};
  std::string array = "[";
  for (std::size_t i = 0; i < texts.size(); ++i) array += (i ? "," : "") + texts[i];
  array += "]";
  auto r = parse_get_records(get_body("[" + array + "]"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& e = (*r)[0].embedding;
  ASSERT_EQ(e.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(bits(e[i]), bits(std::strtof(texts[i].c_str(), nullptr))) << texts[i];
  }
  EXPECT_EQ(e[0], 0.1f);
  EXPECT_TRUE(std::signbit(e[4]));
}

TEST(ChromaWireTest, ShortestFloatTextRoundTripsThroughEncodeAndParse) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> dist;
  std::vector<Record> records(1);
  records[0].id = "r";
  while (records[0].embedding.size() < 2000) {
    float f = std::bit_cast<float>(dist(rng));
    if (std::isfinite(f)) records[0].embedding.push_back(f);
  }
  records[0].embedding.push_back(0.1f);
  std::string body = encode_upsert_body(records, /*base64=*/false);
  json j = json::parse(body);
  EXPECT_EQ(j["embeddings"][0].back().dump(), "0.1");  // shortest float32 text, not 0.100000001
  // Our own get parser must read each value back bit-identically.
  // Re-embed the raw float text (nlohmann would re-print as double).
  std::string emb = body.substr(body.find("\"embeddings\":") + 13);
  emb = emb.substr(0, emb.find("]]") + 2);
  auto r = parse_get_records(get_body(emb, "[null]", "[null]", R"(["r"])"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ((*r)[0].embedding.size(), records[0].embedding.size());
  for (std::size_t i = 0; i < records[0].embedding.size(); ++i) {
    ASSERT_EQ(bits((*r)[0].embedding[i]), bits(records[0].embedding[i])) << i;
  }
}

TEST(ChromaWireTest, MetadataTypesStayApart) {
  auto r = parse_get_records(
      get_body("[[1]]", R"([""])",
               R"([{"i":1,"f":1.0,"e":1e5,"b":true,"s":"1","big":9007199254740993,)"
               R"("min":-9223372036854775808,"neg":-0.0,"tiny":5e-324}])"));
  ASSERT_TRUE(r) << r.error().message;
  const Metadata& m = (*r)[0].metadata;
  EXPECT_EQ(m.at("i"), MetaValue(std::int64_t{1}));
  EXPECT_EQ(m.at("f"), MetaValue(1.0));
  EXPECT_EQ(m.at("e"), MetaValue(1e5));
  EXPECT_EQ(m.at("b"), MetaValue(true));
  EXPECT_EQ(m.at("s"), MetaValue(std::string("1")));
  EXPECT_EQ(m.at("big"), MetaValue(std::int64_t{9007199254740993}));
  EXPECT_EQ(m.at("min"), MetaValue(std::numeric_limits<std::int64_t>::min()));
  ASSERT_TRUE(std::holds_alternative<double>(m.at("neg")));
  EXPECT_TRUE(std::signbit(std::get<double>(m.at("neg"))));
  EXPECT_EQ(m.at("tiny"), MetaValue(5e-324));
  EXPECT_EQ((*r)[0].document, std::optional<std::string>(""));
}

TEST(ChromaWireTest, UnicodeAndEscapesDecode) {
  auto r = parse_get_records(get_body("[[1],[2]]",
                                      R"(["h\u00e9 \"q\" \\ \n\t\u0001 \ud83d\ude00 日本",null])",
                                      R"([{"k\u00e9y":"v\u0000x"},{}])", R"(["id\"1","日本"])"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, "id\"1");
  EXPECT_EQ((*r)[1].id, "日本");
  EXPECT_EQ((*r)[0].document, std::optional<std::string>("hé \"q\" \\ \n\t\x01 😀 日本"));
  EXPECT_EQ((*r)[1].document, std::nullopt);
  EXPECT_EQ((*r)[0].metadata.at("kéy"), MetaValue(std::string("v\0x", 3)));
  EXPECT_TRUE((*r)[1].metadata.empty());
}

TEST(ChromaWireTest, MalformedGetAnswersAreProtocolErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", ""},
      {"[]", ""},
      {get_body(R"([["x"]])"), "non-number"},
      {get_body("[[1,null]]"), "null at embedding position 1"},
      {get_body("[[1e39]]"), "beyond float32"},
      {get_body("[[1]]", "[null]", R"([{"n":{"x":1}}])"), "'n' of record 'a'"},
      {get_body("[[1]]", "[null]", R"([{"arr":[1,2]}])"), "'arr'"},
      {get_body("[[1]]", "[null]", R"([{"z":null}])"), "'z'"},
      {get_body("[[1]]", "[null]", R"([{"u":18446744073709551615}])"), "'u'"},
      {get_body("[[1]]", "[null,null]"), "2 documents for 1 ids"},
      {get_body("[[1]]", "null"), "no documents"},
      {get_body("null"), "no embeddings"},
      {R"({"embeddings":[]})", "no ids"},
      {get_body("[[1]]", "[5]"), "field 'documents'"},
  };
  for (const auto& [body, needle] : cases) {
    auto r = parse_get_records(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kProtocol) << body;
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  }
}

TEST(ChromaWireTest, ParseIds) {
  auto r = parse_get_ids(
      R"({"ids":["a","b\u00e9"],"embeddings":null,"documents":null,"metadatas":null})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "bé"}));
  EXPECT_EQ(parse_get_ids(R"({"x":1})").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parse_get_ids(R"({"ids":[1]})").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parse_get_ids("").error().code, ErrorCode::kProtocol);
}

TEST(ChromaWireTest, UpsertBodyBase64AndFloat) {
  std::vector<Record> records(3);
  records[0] = {"a", {1.5f, -2.0f, 3.25f, 0.5f}, "A", {{"k", true}}};
  records[1] = {"b\"\n", {0.1f, 0.2f, 0.3f, 0.4f}, std::nullopt, {}};
  records[2] = {
      "c",
      {0, 0, 0, 1e-45f},
      "",
      {{"i", std::int64_t{9007199254740993}}, {"f", 1.0}, {"s", std::string("ü\x01\"\\")}}};
  json b64 = json::parse(encode_upsert_body(records, true));
  EXPECT_EQ(b64["ids"], json({"a", "b\"\n", "c"}));
  EXPECT_EQ(b64["embeddings"][0], "AADAPwAAAMAAAFBAAAAAPw==");
  EXPECT_EQ(b64["embeddings"][1], "zczMPc3MTD6amZk+zczMPg==");
  EXPECT_EQ(*embedding_from_base64(b64["embeddings"][2].get<std::string>()), records[2].embedding);
  EXPECT_EQ(b64["documents"], json({"A", nullptr, ""}));
  EXPECT_EQ(b64["metadatas"][0], json({{"k", true}}));
  EXPECT_TRUE(b64["metadatas"][1].is_null());
  EXPECT_EQ(b64["metadatas"][2]["i"].get<std::int64_t>(), 9007199254740993);
  EXPECT_TRUE(b64["metadatas"][2]["i"].is_number_integer());
  EXPECT_TRUE(b64["metadatas"][2]["f"].is_number_float());
  EXPECT_EQ(b64["metadatas"][2]["s"], "ü\x01\"\\");

  std::string text = encode_upsert_body(records, false);
  EXPECT_NE(text.find("[0.1,0.2,0.3,0.4]"), std::string::npos) << text;
  EXPECT_NE(text.find("\"f\":1.0"), std::string::npos) << text;
  json f = json::parse(text);
  EXPECT_EQ(f["embeddings"][0], json({1.5, -2, 3.25, 0.5}));
  EXPECT_EQ(f["embeddings"][2][3].get<float>(), 1e-45f);
  EXPECT_EQ(f["documents"], b64["documents"]);
  EXPECT_EQ(f["metadatas"], b64["metadatas"]);
}

TEST(ChromaWireTest, EncodingIsValidJsonForHostileInput) {
  std::vector<Record> records(1);
  records[0].id = "bad\xff\xc3(utf8\x7f";
  records[0].embedding = {std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity()};
  records[0].document = std::string("\0\x1f", 2);
  records[0].metadata = {{"d", std::numeric_limits<double>::infinity()}, {"e", 1e300}};
  json j = json::parse(encode_upsert_body(records, false));  // must not throw
  EXPECT_EQ(j["ids"][0], "bad\xEF\xBF\xBD\xEF\xBF\xBD(utf8\x7f");
  EXPECT_EQ(j["embeddings"][0], json({nullptr, nullptr}));
  EXPECT_EQ(j["documents"][0], std::string("\0\x1f", 2));
  EXPECT_TRUE(j["metadatas"][0]["d"].is_null());
  EXPECT_EQ(j["metadatas"][0]["e"].get<double>(), 1e300);
}

TEST(ChromaWireTest, SmallRequestBodies) {
  std::vector<std::string> ids = {"x", "y\"z"};
  EXPECT_EQ(json::parse(encode_ids_body(ids)), json({{"ids", {"x", "y\"z"}}}));
  EXPECT_EQ(json::parse(encode_get_by_ids_body(ids))["include"],
            json({"embeddings", "documents", "metadatas", "uris"}));
  EXPECT_EQ(json::parse(encode_list_ids_body(5000, 1000)),
            json({{"limit", 1000}, {"offset", 5000}, {"include", json::array()}}));
  const HnswConfig hnsw{"cosine", 200, 50, 32, 1.5, 500};
  CollectionSpec spec{"coll", {}, hnsw};
  json c = json::parse(encode_create_collection_body(spec));
  EXPECT_FALSE(c.contains("metadata"));  // Chroma rejects an empty metadata object
  EXPECT_EQ(c["configuration"]["hnsw"], hnsw_to_json(spec.hnsw));
  spec.metadata = {{"m", std::int64_t{1}}};
  EXPECT_EQ(json::parse(encode_create_collection_body(spec))["metadata"], json({{"m", 1}}));
}

TEST(ChromaWireTest, ParseCollection) {
  auto r = parse_collection_body(
      R"({"id":"u-1","name":"abc","configuration_json":{"hnsw":{"space":"cosine",)"
      R"("ef_construction":123,"ef_search":50,"max_neighbors":12,"resize_factor":1.5,)"
      R"("sync_threshold":500},"spann":null,"embedding_function":null},"metadata":{"m":1},)"
      R"("dimension":null,"tenant":"default_tenant","database":"default_database"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, "u-1");
  EXPECT_EQ(r->name, "abc");
  EXPECT_EQ(r->metadata, (Metadata{{"m", std::int64_t{1}}}));
  EXPECT_EQ(r->hnsw, (HnswConfig{"cosine", 123, 50, 12, 1.5, 500}));
  EXPECT_EQ(r->dimension, std::nullopt);
  EXPECT_TRUE(r->configuration.contains("spann"));  // verbatim

  // Legacy: 0.5/0.6 hnsw_configuration, overridden by hnsw:* metadata keys.
  auto legacy = parse_collection_body(
      R"({"id":"u-2","name":"old","dimension":384,"metadata":{"hnsw:space":"ip","hnsw:M":8,)"
      R"("hnsw:construction_ef":64},"configuration_json":{"hnsw_configuration":{"space":"l2",)"
      R"("ef_construction":100,"ef_search":10,"M":16,"resize_factor":1.2,"sync_threshold":1000}}})");
  ASSERT_TRUE(legacy) << legacy.error().message;
  EXPECT_EQ(legacy->hnsw, (HnswConfig{"ip", 64, 10, 8, 1.2, 1000}));
  EXPECT_EQ(legacy->dimension, 384);
  EXPECT_EQ(legacy->metadata.count("hnsw:space"), 1u);

  auto bare = parse_collection_body(R"({"id":"u","name":"n","metadata":null})");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->hnsw, HnswConfig{});

  EXPECT_EQ(parse_collection_body(R"({"name":"n"})").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parse_collection_body(R"({"id":"u","name":"n","metadata":{"x":[1]}})").error().code,
            ErrorCode::kProtocol);
  EXPECT_EQ(parse_collection_body(R"({"id":"u","name":"n","configuration_json":{"hnsw":)"
                                  R"({"ef_search":"many"}}})")
                .error()
                .code,
            ErrorCode::kProtocol);
  EXPECT_EQ(parse_collection_list("{}").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parse_collection_list("[]")->size(), 0u);
}

TEST(ChromaWireTest, CountPreflightAndErrorMessages) {
  EXPECT_EQ(*parse_count("42"), 42u);
  EXPECT_EQ(parse_count("-1").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parse_count("\"x\"").error().code, ErrorCode::kProtocol);
  auto l = parse_preflight(R"({"max_batch_size":5461,"supports_base64_encoding":true})");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->max_batch_size, 5461u);
  EXPECT_TRUE(l->supports_base64);
  EXPECT_FALSE(parse_preflight(R"({"max_batch_size":100})")->supports_base64);
  EXPECT_EQ(parse_preflight("oops").error().code, ErrorCode::kProtocol);

  EXPECT_EQ(server_error_message(R"({"error":"InvalidArgumentError","message":"bad"})"),
            "InvalidArgumentError: bad");
  EXPECT_EQ(server_error_message(R"j({"error":"ValueError('x')"})j"), "ValueError('x')");
  EXPECT_EQ(server_error_message(R"({"detail":[{"msg":"field required"}]})"),
            R"([{"msg":"field required"}])");
  EXPECT_EQ(server_error_message("  <html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
  std::string longer(2000, 'x');
  EXPECT_EQ(server_error_message(longer), std::string(500, 'x') + "...");
}

TEST(ChromaWireTest, QueryBodyAndAnswer) {
  std::vector<std::vector<float>> q{{0.1f, -2.0f}, {3.0f, 1e-8f}};
  EXPECT_EQ(encode_query_body(q, 7),
            R"({"query_embeddings":[[0.1,-2],[3,1e-08]],"n_results":7,"include":["distances"]})");
  // Python 0.x answers doubles: they land on the nearest float32.
  auto hits = parse_query_answer(
      R"({"ids":[["a","b"],[]],"distances":[[0.1000000000000000055,2],[]],"metadatas":null})", 2);
  ASSERT_TRUE(hits) << hits.error().message;
  EXPECT_EQ((*hits)[0], (std::vector<QueryHit>{{"a", 0.1f}, {"b", 2.0f}}));
  EXPECT_TRUE((*hits)[1].empty());
  for (const char* bad : {R"({"ids":[["a"]],"distances":[[0.1]]})",        // 1 list for 2 queries
                          R"({"ids":[["a"],[]],"distances":null})",        // no distances
                          R"({"ids":[["a"],[]],"distances":[[],[]]})",     // sizes differ
                          R"({"ids":[["a"],[]],"distances":[["x"],[]]})",  // not a number
                          R"({"ids":[["a"],["b"]],"distances":[[1e99],[0]]})", "[]"}) {
    auto r = parse_query_answer(bad, 2);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kProtocol) << bad;
  }
}

// An `ip` dot product that overflows float32 (components ~3e28) is non-finite; the server sends
// it as null. That is an answer (a NaN distance), not a protocol error.
TEST(ChromaWireTest, QueryAnswerNullDistanceIsNaN) {
  auto hits = parse_query_answer(R"({"ids":[["a","b","c"]],"distances":[[null,0.5,null]]})", 1);
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ((*hits)[0].size(), 3u);
  EXPECT_EQ((*hits)[0][0].id, "a");
  EXPECT_TRUE(std::isnan((*hits)[0][0].distance));
  EXPECT_EQ((*hits)[0][1].distance, 0.5f);
  EXPECT_TRUE(std::isnan((*hits)[0][2].distance));
}

}  // namespace
}  // namespace cm
