// Mapping validation: every rejected input fails on load with kInvalidArgument and a message that
// names the JSON place.
#include "contracts/mapping.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/mapping_test_util.hpp"

namespace cm::contracts {
namespace {

using mapping_test::minimal;
using mapping_test::problem;
using mapping_test::with;
using mapping_test::with_field;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(MappingParseTest, UnknownPredicateNamesThePlace) {
  json j = minimal();
  j["routes"] = json::array(
      {{{"from", {"kb_old"}}, {"to", "kb_new"}},
       {{"from", {"kb_old"}}, {"to", "kb_new"}},
       {{"from", {"kb_old"}}, {"where", {{"lang", {{"equals", "en"}}}}}, {"to", "kb_new"}}});
  EXPECT_EQ(problem(j),
            "mapping.json: routes[2].where.lang: unknown predicate \"equals\" (known: eq, "
            "in, prefix, exists)");
}

TEST(MappingParseTest, UnknownKeysAnywhere) {
  EXPECT_THAT(problem(with("/extra", 1)), HasSubstr("mapping.json: unknown key \"extra\""));
  EXPECT_THAT(problem(with("/targets/kb_new/spaces", "l2")),
              HasSubstr("mapping.json: targets.kb_new: unknown key \"spaces\" (known: space, hnsw, "
                        "metadata, embedding_function)"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"M", 16}})),
              HasSubstr("targets.kb_new.hnsw: unknown key \"M\""));
  EXPECT_THAT(problem(with("/routes/0/form", json::array())),
              HasSubstr("routes[0]: unknown key \"form\""));
  EXPECT_THAT(problem(with("/unmatched", {{"to", "kb_new"}, {"why", 1}})),
              HasSubstr("unmatched: unknown key \"why\""));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"from", "b"}, {"rename", true}})),
              HasSubstr("fields[0]: unknown key \"rename\""));
}

TEST(MappingParseTest, WrongTypes) {
  EXPECT_THAT(problem(json::array()),
              HasSubstr("mapping.json: a mapping must be a JSON object, got array"));
  EXPECT_THAT(problem(with("/mapping_version", "1")),
              HasSubstr("mapping_version: unsupported version \"1\""));
  EXPECT_THAT(problem(with("/mapping_version", 2)),
              HasSubstr("mapping_version: unsupported version 2"));
  EXPECT_THAT(problem(with("/description", 3)),
              HasSubstr("description: expected a string, got integer"));
  EXPECT_THAT(problem(with("/targets", json::array())),
              HasSubstr("targets: expected an object, got array"));
  EXPECT_THAT(problem(with("/targets/kb_new", "x")),
              HasSubstr("targets.kb_new: expected an object, got string"));
  EXPECT_THAT(problem(with("/targets/kb_new/metadata", 1)),
              HasSubstr("targets.kb_new.metadata: expected an object"));
  EXPECT_THAT(
      problem(with("/targets/kb_new/metadata/k", json::array())),
      HasSubstr(
          "targets.kb_new.metadata.k: expected a string, integer, float or boolean, got array"));
  EXPECT_THAT(problem(with("/routes", json::object())),
              HasSubstr("routes: expected an array, got object"));
  EXPECT_THAT(problem(with("/routes/0/from", "kb_old")),
              HasSubstr("routes[0].from: expected an array, got string"));
  EXPECT_THAT(problem(with("/routes/0/from/0", 7)),
              HasSubstr("routes[0].from[0]: expected a string, got integer"));
  EXPECT_THAT(problem(with("/routes/0/to", 1)),
              HasSubstr("routes[0].to: expected a string, got integer"));
  EXPECT_THAT(problem(with("/routes/0/name", false)),
              HasSubstr("routes[0].name: expected a string, got boolean"));
  EXPECT_THAT(problem(with("/routes/0/where", json::array())),
              HasSubstr("routes[0].where: expected an object, got array"));
  EXPECT_THAT(problem(with("/routes/0/where/lang", "en")),
              HasSubstr("routes[0].where.lang: expected an object, got string"));
  EXPECT_THAT(problem(with("/fields", json::object())),
              HasSubstr("fields: expected an array, got object"));
  EXPECT_THAT(problem(with_field("x")), HasSubstr("fields[0]: expected an object, got string"));
  EXPECT_THAT(problem(with_field({{"to", 1}, {"from", "a"}})),
              HasSubstr("fields[0].to: expected a string, got integer"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"from", "b"}, {"cast", 1}})),
              HasSubstr("fields[0].cast: expected a string, got integer"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"from", "b"}, {"cast", "integer"}})),
      HasSubstr("fields[0].cast: unknown value \"integer\" (known: string, int, float, bool)"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"const", nullptr}})),
              HasSubstr("fields[0].const: expected a string, integer, float or boolean, got null"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"const", 18446744073709551615ull}})),
      HasSubstr("fields[0].const: integer 18446744073709551615 is beyond the 64-bit signed range"));
  EXPECT_THAT(problem(with("/on_cast_failure", "ignore")),
              HasSubstr("on_cast_failure: unknown value \"ignore\" (known: fail, skip_record)"));
  EXPECT_THAT(problem(with("/unmapped_keys", true)),
              HasSubstr("unmapped_keys: expected a string, got boolean"));
  EXPECT_THAT(problem(with("/id_template", 5)),
              HasSubstr("id_template: expected a string, got integer"));
}

TEST(MappingParseTest, MissingRequiredKeys) {
  json j = minimal();
  j.erase("routes");
  EXPECT_EQ(problem(j), "mapping.json: missing required key \"routes\"");
  j = minimal();
  j.erase("mapping_version");
  EXPECT_THAT(problem(j), HasSubstr("missing required key \"mapping_version\""));
  EXPECT_THAT(problem(with("/routes/0", {{"from", {"kb_old"}}})),
              HasSubstr("routes[0]: missing required key \"to\""));
  EXPECT_THAT(problem(with("/routes/0", {{"to", "kb_new"}})),
              HasSubstr("routes[0]: missing required key \"from\""));
  EXPECT_THAT(problem(with_field({{"from", "a"}})),
              HasSubstr("fields[0]: missing required key \"to\""));
  EXPECT_THAT(problem(with("/targets", json::object())),
              HasSubstr("targets: declare at least one target"));
  EXPECT_THAT(problem(with("/routes", json::array())),
              HasSubstr("routes: declare at least one route"));
}

TEST(MappingParseTest, RoutesMustLeadToDeclaredTargets) {
  EXPECT_EQ(
      problem(with("/routes/0/to", "kb_nwe")),
      "mapping.json: routes[0].to: \"kb_nwe\" is not declared in \"targets\" (declared: kb_new)");
  EXPECT_THAT(problem(with("/unmatched", {{"to", "elsewhere"}})),
              HasSubstr("unmatched.to: \"elsewhere\" is not declared in \"targets\""));
  EXPECT_THAT(problem(with("/targets/kb_spare", json::object())),
              HasSubstr("targets.kb_spare: no route (nor \"unmatched\") leads to this target"));
  // A target reached only through "unmatched" is fine.
  json j = with("/targets/kb_spare", json::object());
  j["unmatched"] = {{"to", "kb_spare"}};
  EXPECT_TRUE(parse_mapping(j, "m"));
}

TEST(MappingParseTest, UnmatchedPolicyValues) {
  EXPECT_THAT(problem(with("/unmatched", "drop")),
              HasSubstr("unmatched: unknown value \"drop\" (known: error, skip)"));
  EXPECT_THAT(
      problem(with("/unmatched", 1)),
      HasSubstr("unmatched: expected \"error\", \"skip\" or {\"to\": \"<target>\"}, got integer"));
  EXPECT_THAT(problem(with("/unmatched", json::object())),
              HasSubstr("unmatched: missing required key \"to\""));
}

TEST(MappingParseTest, InvalidTargetCollectionNames) {
  for (const char* name : {"ab", "-kb", "kb_", "kb..x", "kb new", "10.0.0.1"}) {
    json j = minimal();
    j["targets"] = {{name, json::object()}};
    j["routes"][0]["to"] = name;
    EXPECT_THAT(problem(j), HasSubstr("invalid collection name")) << name;
  }
  json j = minimal();
  j["targets"] = {{"kb new", json::object()}};
  j["routes"][0]["to"] = "kb new";
  EXPECT_THAT(
      problem(j),
      HasSubstr("mapping.json: targets[\"kb new\"]: invalid collection name: may contain only"));
  EXPECT_THAT(problem(with("/routes/0/from/0", "x")),
              HasSubstr("routes[0].from[0]: invalid collection name"));
}

TEST(MappingParseTest, SpaceAndHnswRanges) {
  EXPECT_THAT(problem(with("/targets/kb_new/space", "euclid")),
              HasSubstr("targets.kb_new.space: unknown value \"euclid\" (known: l2, cosine, ip)"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"max_neighbors", 0}})),
              HasSubstr("targets.kb_new.hnsw.max_neighbors: 0 is out of range (2..1024)"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"ef_construction", 100000}})),
              HasSubstr("targets.kb_new.hnsw.ef_construction: 100000 is out of range"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"ef_search", -1}})),
              HasSubstr("hnsw.ef_search: -1 is out of range"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"sync_threshold", 1}})),
              HasSubstr("hnsw.sync_threshold: 1 is out of range"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"resize_factor", 0.5}})),
              HasSubstr("hnsw.resize_factor: 0.5 is out of range (1.0..100.0)"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"max_neighbors", 16.0}})),
              HasSubstr("hnsw.max_neighbors: expected an integer, got float"));
  EXPECT_THAT(problem(with("/targets/kb_new/hnsw", {{"resize_factor", "2"}})),
              HasSubstr("hnsw.resize_factor: expected a number, got string"));
  auto ok = parse_mapping(
      with("/targets/kb_new/hnsw", {{"resize_factor", 2}, {"max_neighbors", 32}}), "m");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->targets.at("kb_new").hnsw_overrides,
            json({{"resize_factor", 2}, {"max_neighbors", 32}}));
}

TEST(MappingParseTest, FieldRuleShape) {
  EXPECT_THAT(problem(with("/fields", json::array({{{"to", "lang"}, {"from", "a"}},
                                                   {{"to", "x"}, {"const", 1}},
                                                   {{"to", "lang"}, {"const", "en"}}}))),
              HasSubstr("fields[2].to: \"lang\" is already written by fields[0]"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}})),
      HasSubstr("fields[0]: needs exactly one of \"from\", \"const\", \"compute\" (found none)"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"from", "b"}, {"const", 1}})),
      HasSubstr(
          "fields[0]: needs exactly one of \"from\", \"const\", \"compute\" (found: from, const)"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"const", 1}, {"compute", "run_id"}})),
              HasSubstr("(found: const, compute)"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"compute", "uuid"}})),
      HasSubstr(
          "fields[0].compute: unknown compute \"uuid\" (known: document_length, document_bytes, "
          "content_hash, source_id, source_collection, run_id, migration_timestamp)"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"compute", "run_id"}, {"cast", "int"}})),
      HasSubstr(
          "fields[0].cast: cast applies only to \"from\" rules (this rule uses \"compute\")"));
  EXPECT_THAT(
      problem(with_field({{"to", "a"}, {"const", 2}, {"cast", "float"}})),
      HasSubstr("fields[0].cast: cast applies only to \"from\" rules (this rule uses \"const\")"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"const", 2}, {"default", 1}})),
              HasSubstr("fields[0].default: default applies only to \"from\" rules"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"from", "b"}, {"cast", "int"}, {"default", 0.5}})),
              HasSubstr("fields[0].default: 0.5 (float) does not have the cast type int"));
  EXPECT_TRUE(parse_mapping(
      with_field({{"to", "a"}, {"from", "b"}, {"cast", "int"}, {"default", -1}}), "m"));
}

TEST(MappingParseTest, InvalidMetadataKeyNames) {
  EXPECT_THAT(problem(with_field({{"to", ""}, {"const", 1}})),
              HasSubstr("fields[0].to: metadata keys must not be empty"));
  EXPECT_THAT(problem(with_field({{"to", "#x"}, {"const", 1}})),
              HasSubstr("fields[0].to: metadata key \"#x\" must not start with '#' or '$'"));
  EXPECT_THAT(problem(with_field({{"to", "$x"}, {"const", 1}})),
              HasSubstr("must not start with '#' or '$'"));
  EXPECT_THAT(problem(with_field({{"to", "chroma:document"}, {"const", 1}})),
              HasSubstr("is reserved by Chroma"));
  EXPECT_THAT(problem(with_field({{"to", "a"}, {"from", "$b"}})),
              HasSubstr("fields[0].from: metadata key \"$b\""));
  EXPECT_THAT(problem(with("/routes/0/where", {{"#lang", {{"eq", "en"}}}})),
              HasSubstr("routes[0].where[\"#lang\"]: metadata key \"#lang\" must not start"));
  EXPECT_THAT(problem(with("/targets/kb_new/metadata", {{"", 1}})),
              HasSubstr("targets.kb_new.metadata[\"\"]: metadata keys must not be empty"));
  EXPECT_THAT(problem(with("/targets/kb_new/metadata", {{"hnsw:space", "l2"}})),
              HasSubstr("targets.kb_new.metadata[\"hnsw:space\"]: set HNSW parameters with"));
}

TEST(MappingParseTest, RouteShape) {
  EXPECT_THAT(problem(with("/routes/0/from", json::array())),
              HasSubstr("routes[0].from: list at least one source collection"));
  EXPECT_THAT(problem(with("/routes/0/from", json::array({"kb_old", "kb_old"}))),
              HasSubstr("routes[0].from[1]: \"kb_old\" is listed twice"));
  EXPECT_THAT(problem(with("/routes/0/name", "")), HasSubstr("routes[0].name: must not be empty"));
  EXPECT_THAT(problem(with("/routes/0/name", "unmatched")), HasSubstr("\"unmatched\" is reserved"));
  json j = minimal();
  j["routes"].push_back({{"name", "route[0]"}, {"from", {"kb_old"}}, {"to", "kb_new"}});
  EXPECT_THAT(problem(j), HasSubstr("routes[1]: route name \"route[0]\" is used twice"));
}

TEST(MappingParseTest, PredicateShape) {
  auto where = [](json predicate) {
    return with("/routes/0/where", {{"lang", std::move(predicate)}});
  };
  EXPECT_THAT(problem(where(json::object())), HasSubstr("routes[0].where.lang: empty predicate"));
  EXPECT_THAT(problem(where({{"in", json::array()}})),
              HasSubstr("routes[0].where.lang.in: an empty \"in\" list matches nothing"));
  EXPECT_THAT(problem(where({{"in", "en"}})),
              HasSubstr("where.lang.in: expected an array, got string"));
  EXPECT_THAT(problem(where({{"in", json::array({"en", nullptr})}})),
              HasSubstr("where.lang.in[1]: expected a string, integer"));
  EXPECT_THAT(problem(where({{"eq", json::object()}})),
              HasSubstr("where.lang.eq: expected a string, integer"));
  EXPECT_THAT(problem(where({{"prefix", 1}})),
              HasSubstr("where.lang.prefix: expected a string, got integer"));
  EXPECT_THAT(problem(where({{"exists", "yes"}})),
              HasSubstr("where.lang.exists: expected a boolean, got string"));
  auto ok = parse_mapping(where({{"in", {"en", 1, 1.5, true}}, {"exists", true}}), "m");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->routes[0].where.size(), 2u);
}

TEST(MappingParseTest, IdTemplate) {
  EXPECT_EQ(problem(with("/id_template", "{collection}/{id}")),
            "mapping.json: id_template: unknown placeholder {collection} (known: {id}, "
            "{source_collection}, "
            "{meta.KEY})");
  EXPECT_THAT(problem(with("/id_template", "{id")),
              HasSubstr("id_template: unclosed \"{\" at offset 0"));
  EXPECT_THAT(problem(with("/id_template", "{id}}")),
              HasSubstr("id_template: lone \"}\" at offset 4"));
  EXPECT_THAT(problem(with("/id_template", "{meta.}-{id}")),
              HasSubstr("placeholder {meta.}: metadata keys must not be empty"));
  EXPECT_THAT(problem(with("/id_template", "{source_collection}")),
              HasSubstr("must contain {id} or a {meta.KEY}"));
  EXPECT_THAT(problem(with("/id_template", "")), HasSubstr("must contain {id} or a {meta.KEY}"));
  auto ok =
      parse_mapping(with("/id_template", "{{v2}}/{source_collection}/{meta.doc_id}#{id}"), "m");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->id_parts.size(), 6u);
  EXPECT_EQ(ok->id_parts[0].text, "{v2}/");
  EXPECT_EQ(ok->id_parts[3].kind, IdTemplatePart::Kind::kMeta);
  EXPECT_EQ(ok->id_parts[3].text, "doc_id");
}

}  // namespace
}  // namespace cm::contracts
