// plan_target_collections (inheritance and overrides), describe_schema_change, and the shipped
// example contracts/examples/flat_to_v2.mapping.json run over records of the demo corpus.
#include "contracts/mapping.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/corpus.hpp"

namespace cm::contracts {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

CollectionInfo info(std::string name, std::string space, int ef_construction, Metadata meta = {}) {
  CollectionInfo c;
  c.name = std::move(name);
  c.hnsw.space = std::move(space);
  c.hnsw.ef_construction = ef_construction;
  c.metadata = std::move(meta);
  c.configuration = {{"hnsw", hnsw_to_json(c.hnsw)}, {"embedding_function", {{"name", "default"}}}};
  return c;
}

Mapping load(const std::string& text) {
  auto m = parse_mapping(json::parse(text), "m.json");
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : Mapping{};
}

const CollectionSpec& find(const std::vector<CollectionSpec>& specs, const std::string& name) {
  for (const auto& s : specs) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no spec " + name);
}

TEST(MappingPlanTest, InheritsFromFirstSourceThenOverrides) {
  const Mapping m = load(R"({"mapping_version": 1,
    "targets": {"merged": {"hnsw": {"max_neighbors": 48, "resize_factor": 1.5},
                           "metadata": {"schema": "v2", "owner": "search"}},
                "plain": {}},
    "routes": [{"from": ["beta"], "where": {"x": {"eq": 1}}, "to": "plain"},
               {"from": ["alpha", "beta"], "to": "merged"}]})");
  const std::vector<CollectionInfo> sources = {
      info("alpha", "cosine", 150,
           {{"owner", std::string("kb")}, {"hnsw:space", std::string("cosine")}}),
      info("beta", "cosine", 300, {{"team", std::string("legal")}})};
  auto plan = plan_target_collections(m, sources);
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].name, "merged");  // sorted by name
  const auto& merged = find(*plan, "merged");
  EXPECT_EQ(merged.hnsw.space, "cosine");
  EXPECT_EQ(merged.hnsw.ef_construction,
            150);  // alpha: first source in route order that routes here
  EXPECT_EQ(merged.hnsw.max_neighbors, 48);
  EXPECT_EQ(merged.hnsw.resize_factor, 1.5);
  EXPECT_EQ(merged.metadata,
            (Metadata{{"owner", std::string("search")}, {"schema", std::string("v2")}}));
  EXPECT_EQ(merged.configuration["hnsw"]["max_neighbors"], 48);
  EXPECT_EQ(merged.configuration["embedding_function"]["name"], "default");
  const auto& plain = find(*plan, "plain");
  EXPECT_EQ(plain.hnsw.ef_construction, 300);
  EXPECT_EQ(plain.metadata, (Metadata{{"team", std::string("legal")}}));
}

TEST(MappingPlanTest, UnmatchedTargetInheritsFromSourcesThatCanFallThrough) {
  const Mapping m = load(R"({"mapping_version": 1, "targets": {"all": {}, "rest": {}},
    "routes": [{"from": ["alpha"], "to": "all"}, {"from": ["beta"], "where": {"x": {"exists": true}}, "to": "all"}],
    "unmatched": {"to": "rest"}})");
  auto plan = plan_target_collections(m, {info("alpha", "ip", 10), info("beta", "ip", 20)});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(find(*plan, "rest").hnsw.ef_construction, 20);  // alpha is caught whole by its route
}

TEST(MappingPlanTest, SpaceConflictsAndMissingSources) {
  const char* text = R"({"mapping_version": 1, "targets": {"mixed": {}},
    "routes": [{"from": ["alpha", "beta"], "to": "mixed"}]})";
  auto conflict =
      plan_target_collections(load(text), {info("alpha", "ip", 10), info("beta", "cosine", 20)});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(conflict.error().message,
              HasSubstr("target mixed: its sources disagree on the space (alpha is ip, "
                        "beta is cosine): declare the target's \"space\""));
  auto missing = plan_target_collections(load(text), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message,
              HasSubstr("none of its source collections (alpha, beta) exists"));

  json declared = json::parse(text);
  declared["targets"]["mixed"] = {{"space", "cosine"}, {"hnsw", {{"ef_search", 64}}}};
  auto resolved = plan_target_collections(load(declared.dump()),
                                          {info("alpha", "ip", 10), info("beta", "cosine", 20)});
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ((*resolved)[0].hnsw.space, "cosine");
  EXPECT_EQ((*resolved)[0].hnsw.ef_construction, 10);
  EXPECT_EQ((*resolved)[0].configuration["hnsw"]["space"], "cosine");
  auto from_nothing = plan_target_collections(load(declared.dump()), {});
  ASSERT_TRUE(from_nothing) << from_nothing.error().message;
  EXPECT_EQ((*from_nothing)[0].hnsw, (HnswConfig{"cosine", 100, 64, 16, 1.2, 1000}));
}

TEST(MappingDescribeTest, SchemaChange) {
  const Mapping m = load(R"({"mapping_version": 1, "targets": {"dst": {}},
    "routes": [{"name": "all", "from": ["src"], "where": {"lang": {"eq": "en"}}, "to": "dst"}],
    "unmatched": "skip", "unmapped_keys": "drop", "id_template": "{source_collection}/{id}",
    "fields": [{"to": "language", "from": "lang", "default": "en"}, {"to": "n", "from": "n", "cast": "int"},
               {"to": "schema_version", "const": 2}, {"to": "len", "compute": "document_length"}]})");
  const json d = describe_schema_change(m);
  EXPECT_EQ(
      d["target_keys"][0],
      json({{"key", "language"},
            {"rule", "fields[0]"},
            {"origin", "copy of source key \"lang\", default \"en\" (string) when missing"}}));
  EXPECT_EQ(d["target_keys"][1]["origin"],
            "copy of source key \"n\" cast to int, absent when missing");
  EXPECT_EQ(d["target_keys"][2]["origin"], "const 2 (int)");
  EXPECT_EQ(d["target_keys"][3]["origin"], "computed document_length");
  EXPECT_EQ(d["source_keys_read"], json({"lang", "n"}));
  EXPECT_EQ(d["source_keys_removed"], json({"lang"}));
  EXPECT_EQ(d["other_source_keys"], "dropped");
  EXPECT_EQ(d["ids"], "id_template \"{source_collection}/{id}\"");
  EXPECT_EQ(d["routes"][0]["where"], json({{"lang", {{"eq", "en"}}}}));
  EXPECT_EQ(d["unmatched"], "skip");
}

TEST(MappingExampleTest, FlatToV2RoutesTheDemoCorpus) {
  auto m = load_mapping(std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json");
  ASSERT_TRUE(m) << m.error().message;
  corpus::CorpusOptions options;
  options.total_records = 2000;
  options.dimension = 4;
  const auto specs = corpus::collection_specs(options);
  std::vector<CollectionInfo> sources;
  for (const auto& s : specs) sources.push_back({s.name, "", s.metadata, s.hnsw, {}, {}});
  EXPECT_EQ(mapped_source_collections(*m),
            (std::vector<std::string>{"kb_articles", "legal_clauses", "product_docs",
                                      "support_tickets"}));

  std::map<std::string, std::size_t> per_target;
  std::size_t without_metadata = 0;
  for (std::size_t c = 0; c < specs.size(); ++c) {
    for (std::size_t i = 0; i < corpus::records_in(options, c); ++i) {
      const Record r = corpus::make_record(options, c, i);
      auto t = transform_record(*m, specs[c].name, r, {"run", "ts"});
      ASSERT_TRUE(t) << t.error().message;
      ASSERT_EQ(t->outcome, Transformed::Outcome::kRouted);
      const auto& lang = r.metadata.find("lang");
      std::string want = specs[c].name == "support_tickets" ? "support_v2"
                         : specs[c].name == "product_docs"  ? "product_v2"
                         : specs[c].name == "kb_articles" && lang != r.metadata.end() &&
                                 lang->second == MetaValue{std::string("en")}
                             ? "kb_en"
                             : "kb_intl";
      EXPECT_EQ(t->target, want) << r.id;
      EXPECT_EQ(t->record.metadata.size(), 12u) << r.id;
      EXPECT_EQ(t->record.id, r.id);
      const auto parent = r.metadata.find("parent_chunk");
      EXPECT_EQ(t->record.metadata.at("cites"),
                parent == r.metadata.end() ? MetaValue{std::string()} : parent->second);
      if (r.metadata.contains("version")) {
        EXPECT_EQ(t->record.metadata.at("doc_version"),
                  MetaValue{static_cast<std::int64_t>(std::get<double>(r.metadata.at("version")))});
      }
      without_metadata += r.metadata.empty();
      ++per_target[t->target];
    }
  }
  EXPECT_GT(without_metadata, 0u);
  for (const char* target : {"kb_en", "kb_intl", "support_v2", "product_v2"})
    EXPECT_GT(per_target[target], 0u);

  auto plan = plan_target_collections(*m, sources);
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_EQ(find(*plan, "kb_en").hnsw.space, "cosine");
  EXPECT_EQ(find(*plan, "kb_en").hnsw.max_neighbors, 32);
  EXPECT_EQ(find(*plan, "kb_intl").hnsw.space, "cosine");
  EXPECT_EQ(find(*plan, "support_v2").hnsw.space, "l2");
  EXPECT_EQ(find(*plan, "product_v2").hnsw.space, "ip");
  EXPECT_EQ(find(*plan, "product_v2").hnsw.ef_construction, 128);
  EXPECT_EQ(find(*plan, "support_v2").metadata.at("schema_version"), MetaValue{std::int64_t{2}});
  EXPECT_EQ(find(*plan, "support_v2").metadata.at("owner_team"), MetaValue{std::string("zendesk")});
}

TEST(MappingPlanTest, EmbeddingFunctionsMustAgreeOrBeDeclared) {
  const char* text = R"({"mapping_version": 1, "targets": {"mixed": {}},
    "routes": [{"from": ["alpha", "beta"], "to": "mixed"}]})";
  CollectionInfo alpha = info("alpha", "cosine", 10);
  CollectionInfo beta = info("beta", "cosine", 20);
  beta.configuration["embedding_function"] = {{"type", "known"}, {"name", "openai"}};
  auto conflict = plan_target_collections(load(text), {alpha, beta});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(
      conflict.error().message,
      HasSubstr("target mixed: its sources disagree on the embedding function (alpha has "
                "{\"name\":\"default\"}, beta has {\"name\":\"openai\",\"type\":\"known\"})"));
  EXPECT_THAT(conflict.error().message, HasSubstr("declare the target's \"embedding_function\""));
  // A source without any embedding function disagrees with one that has one.
  CollectionInfo bare = info("beta", "cosine", 20);
  bare.configuration.erase("embedding_function");
  EXPECT_FALSE(plan_target_collections(load(text), {alpha, bare}));

  json declared = json::parse(text);
  declared["targets"]["mixed"]["embedding_function"] = {{"type", "known"}, {"name", "openai"}};
  auto resolved = plan_target_collections(load(declared.dump()), {alpha, beta});
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ((*resolved)[0].configuration["embedding_function"]["name"], "openai");
  declared["targets"]["mixed"]["embedding_function"] = nullptr;
  resolved = plan_target_collections(load(declared.dump()), {alpha, beta});
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_TRUE((*resolved)[0].configuration["embedding_function"].is_null());
  declared["targets"]["mixed"]["embedding_function"] = "openai";
  auto bad = parse_mapping(declared, "m.json");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message,
              HasSubstr("targets.mixed.embedding_function: must be an object"));
}

}  // namespace
}  // namespace cm::contracts
