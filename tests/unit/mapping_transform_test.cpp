// transform_record: routing, predicates, field rules, unmapped keys, id_template, determinism.
// The cast rules themselves are covered case by case in mapping_cast_test.cpp.
#include "contracts/mapping.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/store/canonical.hpp"

namespace cm::contracts {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Outcome = Transformed::Outcome;

const TransformContext kContext{"run-7", "2024-05-01T12:00:00Z"};

Mapping load(json j) {
  j["mapping_version"] = 1;
  auto m = parse_mapping(j, "m.json");
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : Mapping{};
}

Record rec(std::string id, Metadata meta, std::optional<std::string> doc = "text") {
  return Record{std::move(id), {0.25f, -1.5f}, std::move(doc), std::move(meta)};
}

Transformed run(const Mapping& m, const std::string& collection, const Record& r) {
  auto t = transform_record(m, collection, r, kContext);
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : Transformed{};
}

// Routes a record with `meta` through a single predicate; true when it matched.
bool matches(json predicate, const Metadata& meta) {
  auto m =
      load({{"targets", {{"hit", json::object()}, {"miss", json::object()}}},
            {"routes", json::array({{{"from", {"src"}}, {"where", predicate}, {"to", "hit"}}})},
            {"unmatched", {{"to", "miss"}}}});
  return run(m, "src", rec("r", meta)).target == "hit";
}

TEST(MappingRoutingTest, FirstMatchWinsAndLabels) {
  auto m = load({{"targets", {{"aaa", json::object()}, {"bbb", json::object()}}},
                 {"routes", json::array({{{"name", "english"},
                                          {"from", {"src"}},
                                          {"where", {{"lang", {{"eq", "en"}}}}},
                                          {"to", "aaa"}},
                                         {{"from", {"src"}}, {"to", "bbb"}},
                                         {{"from", {"src"}}, {"to", "aaa"}}})}});
  auto en = run(m, "src", rec("1", {{"lang", std::string("en")}}));
  EXPECT_EQ(en.outcome, Outcome::kRouted);
  EXPECT_EQ(en.target, "aaa");
  EXPECT_EQ(en.route, "english");
  auto de = run(m, "src", rec("2", {{"lang", std::string("de")}}));
  EXPECT_EQ(de.target, "bbb");
  EXPECT_EQ(de.route, "route[1]");
  auto other = transform_record(m, "elsewhere", rec("3", {}), kContext);
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message,
              HasSubstr("collection \"elsewhere\" is not read by any route"));
}

TEST(MappingRoutingTest, UnmatchedPolicies) {
  json base = {
      {"targets", {{"aaa", json::object()}, {"fallback", json::object()}}},
      {"routes",
       json::array({{{"from", {"src"}}, {"where", {{"lang", {{"eq", "en"}}}}}, {"to", "aaa"}}})}};
  const Record fr = rec("fr-1", {{"lang", std::string("fr")}});

  json to = base;
  to["unmatched"] = {{"to", "fallback"}};
  auto routed = run(load(to), "src", fr);
  EXPECT_EQ(routed.outcome, Outcome::kRouted);
  EXPECT_EQ(routed.target, "fallback");
  EXPECT_EQ(routed.route, "unmatched");

  base["targets"].erase("fallback");
  json skip = base;
  skip["unmatched"] = "skip";
  auto skipped = run(load(skip), "src", fr);
  EXPECT_EQ(skipped.outcome, Outcome::kSkippedUnmatched);
  EXPECT_EQ(skipped.route, "unmatched");
  EXPECT_EQ(skipped.target, "");
  EXPECT_EQ(skipped.record, fr);
  EXPECT_THAT(skipped.problem, HasSubstr("record \"fr-1\" of \"src\" matches no route"));

  json explicit_error = base;
  explicit_error["unmatched"] = "error";
  for (const json& error : {base, explicit_error}) {
    auto failed = transform_record(load(error), "src", fr, kContext);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(failed.error().message,
              "m.json: record \"fr-1\" of \"src\" matches no route and \"unmatched\" is \"error\"");
  }
}

TEST(MappingRoutingTest, MergeAndSplit) {
  auto m = load(
      {{"targets",
        {{"merged", json::object()}, {"split_en", json::object()}, {"split_rest", json::object()}}},
       {"routes",
        json::array({{{"from", json::array({"left", "right"})}, {"to", "merged"}},
                     {{"from", {"one"}}, {"where", {{"lang", {{"eq", "en"}}}}}, {"to", "split_en"}},
                     {{"from", {"one"}}, {"to", "split_rest"}}})}});
  EXPECT_EQ(run(m, "left", rec("l", {})).target, "merged");
  EXPECT_EQ(run(m, "right", rec("r", {})).target, "merged");
  EXPECT_EQ(run(m, "one", rec("a", {{"lang", std::string("en")}})).target, "split_en");
  EXPECT_EQ(run(m, "one", rec("b", {{"lang", std::string("ja")}})).target, "split_rest");
  EXPECT_EQ(run(m, "one", rec("c", {})).target, "split_rest");
  EXPECT_EQ(mapped_source_collections(m), (std::vector<std::string>{"left", "one", "right"}));
}

TEST(MappingPredicateTest, EqIsTyped) {
  EXPECT_TRUE(matches({{"k", {{"eq", 1}}}}, {{"k", std::int64_t{1}}}));
  EXPECT_FALSE(matches({{"k", {{"eq", 1}}}}, {{"k", 1.0}}));
  EXPECT_FALSE(matches({{"k", {{"eq", 1}}}}, {{"k", std::string("1")}}));
  EXPECT_FALSE(matches({{"k", {{"eq", 1}}}}, {{"k", true}}));
  EXPECT_TRUE(matches({{"k", {{"eq", 1.0}}}}, {{"k", 1.0}}));
  EXPECT_FALSE(matches({{"k", {{"eq", 1.0}}}}, {{"k", std::int64_t{1}}}));
  EXPECT_TRUE(matches({{"k", {{"eq", true}}}}, {{"k", true}}));
  EXPECT_FALSE(matches({{"k", {{"eq", "true"}}}}, {{"k", true}}));
  EXPECT_TRUE(matches({{"k", {{"eq", "en"}}}}, {{"k", std::string("en")}}));
  EXPECT_FALSE(matches({{"k", {{"eq", "en"}}}}, {}));
}

TEST(MappingPredicateTest, InPrefixExistsAndConjunction) {
  const json in = {{"k", {{"in", {"zendesk", 2, false}}}}};
  EXPECT_TRUE(matches(in, {{"k", std::string("zendesk")}}));
  EXPECT_TRUE(matches(in, {{"k", std::int64_t{2}}}));
  EXPECT_TRUE(matches(in, {{"k", false}}));
  EXPECT_FALSE(matches(in, {{"k", 2.0}}));
  EXPECT_FALSE(matches(in, {{"k", std::string("jira")}}));
  EXPECT_FALSE(matches(in, {}));

  EXPECT_TRUE(matches({{"k", {{"prefix", "doc0"}}}}, {{"k", std::string("doc00012")}}));
  EXPECT_FALSE(matches({{"k", {{"prefix", "doc0"}}}}, {{"k", std::string("doc1")}}));
  EXPECT_FALSE(matches({{"k", {{"prefix", "1"}}}}, {{"k", std::int64_t{12}}}));  // strings only
  EXPECT_FALSE(matches({{"k", {{"prefix", ""}}}}, {}));
  EXPECT_TRUE(matches({{"k", {{"prefix", ""}}}}, {{"k", std::string("")}}));

  EXPECT_TRUE(matches({{"k", {{"exists", true}}}}, {{"k", false}}));
  EXPECT_FALSE(matches({{"k", {{"exists", true}}}}, {}));
  EXPECT_TRUE(matches({{"k", {{"exists", false}}}}, {}));
  EXPECT_FALSE(matches({{"k", {{"exists", false}}}}, {{"k", std::int64_t{0}}}));

  const json both = {{"source", {{"in", json::array({"zendesk", "jira"})}}},
                     {"title", {{"exists", true}}},
                     {"doc_id", {{"prefix", "doc0"}}}};
  const Metadata all = {{"source", std::string("jira")},
                        {"title", std::string("t")},
                        {"doc_id", std::string("doc01")}};
  EXPECT_TRUE(matches(both, all));
  for (const char* key : {"source", "title", "doc_id"}) {
    Metadata partial = all;
    partial.erase(key);
    EXPECT_FALSE(matches(both, partial)) << key;
  }
  EXPECT_TRUE(matches({{"k", {{"exists", true}, {"prefix", "a"}}}}, {{"k", std::string("ab")}}));
  EXPECT_FALSE(matches({{"k", {{"exists", true}, {"prefix", "a"}}}}, {{"k", std::string("b")}}));
}

json one_target(json fields) {
  return {{"targets", {{"dst", json::object()}}},
          {"routes", json::array({{{"from", {"src"}}, {"to", "dst"}}})},
          {"fields", std::move(fields)}};
}

TEST(MappingFieldTest, CopyRenameConstDefault) {
  auto m = load(one_target(json::array({{{"to", "lang"}, {"from", "lang"}},
                                        {{"to", "source_system"}, {"from", "source"}},
                                        {{"to", "language"}, {"from", "locale"}, {"default", "en"}},
                                        {{"to", "page"}, {"from", "page"}},
                                        {{"to", "v_int"}, {"const", 2}},
                                        {{"to", "v_float"}, {"const", 2.0}},
                                        {{"to", "flag"}, {"const", true}}})));
  auto t = run(m, "src",
               rec("r", {{"lang", std::string("de")},
                         {"source", std::string("jira")},
                         {"locale", std::string("fr")},
                         {"other", std::int64_t{5}}}));
  const Metadata want = {{"lang", std::string("de")},
                         {"source_system", std::string("jira")},
                         {"language", std::string("fr")},
                         {"v_int", std::int64_t{2}},
                         {"v_float", 2.0},
                         {"flag", true},
                         {"other", std::int64_t{5}}};  // unmapped keys are kept by default
  EXPECT_EQ(t.record.metadata, want);
  auto missing = run(m, "src", rec("r", {}));
  EXPECT_EQ(missing.record.metadata.at("language"), MetaValue{std::string("en")});
  EXPECT_FALSE(missing.record.metadata.contains("page"));  // no default: absent
  EXPECT_FALSE(missing.record.metadata.contains("lang"));
}

TEST(MappingFieldTest, UnmappedKeysKeepAndDrop) {
  json j = one_target(json::array(
      {{{"to", "language"}, {"from", "lang"}}, {{"to", "title"}, {"from", "heading"}}}));
  const Record r =
      rec("r", {{"lang", std::string("de")}, {"title", std::string("old")}, {"extra", 1.5}});
  auto kept = run(load(j), "src", r);
  // "lang" was consumed (renamed); "title" belongs to a rule even though that rule wrote nothing.
  EXPECT_EQ(kept.record.metadata, (Metadata{{"language", std::string("de")}, {"extra", 1.5}}));
  j["unmapped_keys"] = "drop";
  auto dropped = run(load(j), "src", r);
  EXPECT_EQ(dropped.record.metadata, (Metadata{{"language", std::string("de")}}));
  auto empty = run(load(j), "src", rec("e", {{"unrelated", true}}));
  EXPECT_TRUE(empty.record.metadata.empty());
}

TEST(MappingFieldTest, CastFailurePolicies) {
  json j = one_target(json::array({{{"to", "chunk_no"}, {"from", "chunk"}, {"cast", "int"}}}));
  const Record bad = rec("doc-9", {{"chunk", std::string("12abc")}});
  auto ok = run(load(j), "src", rec("doc-1", {{"chunk", std::string("12")}}));
  EXPECT_EQ(ok.record.metadata.at("chunk_no"), MetaValue{std::int64_t{12}});

  auto failed = transform_record(load(j), "src", bad, kContext);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(failed.error().message,
            "m.json: record \"doc-9\" of \"src\": fields[0] (\"chunk_no\"): key \"chunk\" value "
            "\"12abc\" "
            "(string) cannot be cast to int: not a decimal integer");

  j["on_cast_failure"] = "skip_record";
  auto skipped = run(load(j), "src", bad);
  EXPECT_EQ(skipped.outcome, Outcome::kSkippedCastFailure);
  EXPECT_EQ(skipped.target, "dst");
  EXPECT_EQ(skipped.route, "route[0]");
  EXPECT_EQ(skipped.record, bad);
  EXPECT_THAT(skipped.problem,
              HasSubstr("key \"chunk\" value \"12abc\" (string) cannot be cast to int"));

  // A big int that a double cannot hold exactly, under both policies.
  json f = one_target(json::array({{{"to", "n"}, {"from", "big"}, {"cast", "float"}}}));
  const Record big = rec("b", {{"big", std::int64_t{(std::int64_t{1} << 53) + 1}}});
  auto big_failed = transform_record(load(f), "src", big, kContext);
  ASSERT_FALSE(big_failed);
  EXPECT_THAT(
      big_failed.error().message,
      HasSubstr("value 9007199254740993 (int) cannot be cast to float: not exactly representable"));
  f["on_cast_failure"] = "skip_record";
  EXPECT_EQ(run(load(f), "src", big).outcome, Outcome::kSkippedCastFailure);
  EXPECT_EQ(run(load(f), "src", rec("s", {{"big", std::int64_t{1} << 53}})).record.metadata.at("n"),
            MetaValue{9007199254740992.0});
}

TEST(MappingFieldTest, Computes) {
  auto m = load(one_target(json::array({{{"to", "len"}, {"compute", "document_length"}},
                                        {{"to", "bytes"}, {"compute", "document_bytes"}},
                                        {{"to", "hash"}, {"compute", "content_hash"}},
                                        {{"to", "sid"}, {"compute", "source_id"}},
                                        {{"to", "scoll"}, {"compute", "source_collection"}},
                                        {{"to", "run"}, {"compute", "run_id"}},
                                        {{"to", "at"}, {"compute", "migration_timestamp"}}})));
  auto t = run(m, "src", rec("id-1", {}, "naïve 東京"));
  const Metadata want = {{"len", std::int64_t{8}},
                         {"bytes", std::int64_t{13}},
                         {"hash", xxh3_64_hex("naïve 東京")},
                         {"sid", std::string("id-1")},
                         {"scoll", std::string("src")},
                         {"run", std::string("run-7")},
                         {"at", std::string("2024-05-01T12:00:00Z")}};
  EXPECT_EQ(t.record.metadata, want);
  auto null_doc = run(m, "src", rec("id-2", {}, std::nullopt));
  EXPECT_EQ(null_doc.record.metadata.at("len"), MetaValue{std::int64_t{0}});
  EXPECT_EQ(null_doc.record.metadata.at("hash"), MetaValue{std::string()});
  auto empty_doc = run(m, "src", rec("id-3", {}, ""));
  EXPECT_EQ(empty_doc.record.metadata.at("hash"), MetaValue{xxh3_64_hex("")});
  EXPECT_FALSE(null_doc.record.document);

  auto no_run = transform_record(m, "src", rec("x", {}), TransformContext{"", "t"});
  ASSERT_FALSE(no_run);
  EXPECT_THAT(no_run.error().message,
              HasSubstr("fields[5] computes run_id but the transform context has none"));
}

TEST(MappingIdTest, TemplateRendering) {
  json j = one_target(json::array());
  j["id_template"] = "{source_collection}/{id}";
  const Record r = rec("a-1", {{"doc", std::int64_t{42}}, {"f", 0.5}});
  auto t = run(load(j), "src", r);
  EXPECT_EQ(t.record.id, "src/a-1");
  EXPECT_EQ(t.record.embedding, r.embedding);
  EXPECT_EQ(t.record.document, r.document);
  j["id_template"] = "{{v2}}-{meta.doc}-{meta.f}-{id}";
  EXPECT_EQ(run(load(j), "src", r).record.id, "{v2}-42-0.5-a-1");
  EXPECT_EQ(run(load(one_target(json::array())), "src", r).record.id, "a-1");  // no template

  j["id_template"] = "{meta.missing}";
  auto failed = transform_record(load(j), "src", r, kContext);
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message,
              HasSubstr("record \"a-1\" of \"src\": id_template placeholder "
                        "{meta.missing}: key \"missing\" is missing"));
  j["on_cast_failure"] = "skip_record";
  EXPECT_EQ(run(load(j), "src", r).outcome, Outcome::kSkippedCastFailure);
  j["id_template"] = "{meta.empty}";
  auto empty = run(load(j), "src", rec("e", {{"empty", std::string()}}));
  EXPECT_EQ(empty.outcome, Outcome::kSkippedCastFailure);
  EXPECT_THAT(empty.problem, HasSubstr("renders an empty id"));
}

TEST(MappingDeterminismTest, SameInputSameOutput) {
  json j = one_target(json::array({{{"to", "h"}, {"compute", "content_hash"}},
                                   {{"to", "n"}, {"from", "n"}, {"cast", "string"}},
                                   {{"to", "at"}, {"compute", "migration_timestamp"}}}));
  j["id_template"] = "{source_collection}:{id}";
  const Mapping m = load(j);
  const Record r = rec("r", {{"n", 0.1}, {"z", std::string("keep")}, {"a", true}});
  auto first = run(m, "src", r);
  auto second = run(m, "src", r);
  EXPECT_EQ(first.record, second.record);
  EXPECT_EQ(record_digest(first.record), record_digest(second.record));
  EXPECT_EQ(first.record.metadata.at("n"), MetaValue{std::string("0.1")});
  EXPECT_EQ(run(load(j), "src", r).record, first.record);  // a fresh parse of the same mapping
}

}  // namespace
}  // namespace cm::contracts
