// ContractChecker: every finding kind, type strictness, aggregation, references, and the report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "contracts/contract.hpp"

namespace cm::contracts {
namespace {

using ::testing::ElementsAre;

}  // namespace

// Readable failure output: the report line plus the raw fields.
void PrintTo(const Finding& f, std::ostream* os) {
  *os << render_findings({f}) << "    " << findings_to_json({f}).dump();
}

namespace {

Contract contract_from(const std::string& text) {
  auto c = parse_contract(nlohmann::json::parse(text), "test");
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : Contract{};
}

// Two collections with a cosine default and an l2 override, dimension 3.
Contract two_collections(const std::string& fields, bool allow_extra = true) {
  return contract_from(R"({"contract_version": "2.0", "embedding_dimension": 3, "space": "cosine",
    "embedding_model": "mini", "collections": {"kb_en": {}, "support_v2": {"space": "l2"}},
    "allow_extra_fields": )" +
                       std::string(allow_extra ? "true" : "false") + R"(, "fields": )" + fields +
                       "}");
}

Record rec(const std::string& id, Metadata metadata, std::vector<float> embedding = {0, 0, 1}) {
  return Record{id, std::move(embedding), std::nullopt, std::move(metadata)};
}

// Only the record-level findings: every test below sees both collections.
std::vector<Finding> check(const Contract& c, const std::vector<Record>& kb_en) {
  ContractChecker checker(c);
  checker.check_collection("support_v2", "l2", 3, {{"embedding_model", std::string("mini")}});
  checker.check_collection("kb_en", "cosine", 3, {{"embedding_model", std::string("mini")}});
  for (const auto& r : kb_en) checker.check_record("kb_en", r);
  return checker.finish();
}

Finding finding(std::string kind, std::string collection, std::string key, std::string expected,
                std::string actual, std::uint64_t count, std::vector<std::string> ids,
                std::vector<std::string> values = {}) {
  return Finding{std::move(kind),     std::move(collection), std::move(key),
                 std::move(expected), std::move(actual),     count,
                 std::move(ids),      std::move(values)};
}

TEST(ContractCheckTest, ConformingTargetHasNoFindings) {
  auto c = two_collections(R"({"n": {"type": "int", "required": true, "min": 0, "max": 7},
                               "lang": {"type": "string", "enum": ["en", "de"]},
                               "id": {"type": "string", "pattern": "doc[0-9]+"}})");
  EXPECT_TRUE(check(c, {rec("a", {{"n", std::int64_t{0}},
                                  {"lang", std::string("de")},
                                  {"id", std::string("doc12")},
                                  {"other", true}}),
                        rec("b", {{"n", std::int64_t{7}}})})
                  .empty());
}

TEST(ContractCheckTest, TypesAreKeptStrictlyApart) {
  auto c = two_collections(R"({"i": {"type": "int"}, "f": {"type": "float"}, "b": {"type": "bool"},
                               "s": {"type": "string"}})");
  auto findings = check(
      c, {rec("ok", {{"i", std::int64_t{3}}, {"f", 3.0}, {"b", true}, {"s", std::string("3")}}),
          rec("float", {{"i", 3.0}, {"f", std::int64_t{3}}}),
          rec("bool", {{"i", true}, {"b", std::int64_t{1}}}),
          rec("string", {{"i", std::string("3")}, {"s", std::int64_t{3}}})});
  EXPECT_THAT(
      findings,
      ElementsAre(finding("wrong_type", "kb_en", "b", "bool", "int", 1, {"bool"}, {"1"}),
                  finding("wrong_type", "kb_en", "f", "float", "int", 1, {"float"}, {"3"}),
                  finding("wrong_type", "kb_en", "i", "int", "bool", 1, {"bool"}, {"true"}),
                  finding("wrong_type", "kb_en", "i", "int", "float", 1, {"float"}, {"3.0"}),
                  finding("wrong_type", "kb_en", "i", "int", "string", 1, {"string"}, {"\"3\""}),
                  finding("wrong_type", "kb_en", "s", "string", "int", 1, {"string"}, {"3"})));
}

TEST(ContractCheckTest, EnumRangeAndPatternViolations) {
  auto c = two_collections(R"({"lang": {"type": "string", "enum": ["en", "de"]},
                               "n": {"type": "int", "min": 0, "max": 10},
                               "score": {"type": "float", "min": 0, "max": 1},
                               "big": {"type": "int", "max": 9007199254740992.0},
                               "doc": {"type": "string", "pattern": "doc[0-9]{2}"}})");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto findings = check(c, {rec("a", {{"lang", std::string("fr")}, {"n", std::int64_t{-1}}}),
                            rec("b", {{"n", std::int64_t{11}}, {"score", 1.5}}),
                            rec("c", {{"n", std::int64_t{10}}, {"score", nan}}),
                            // 2^53 + 1 is above the bound 2^53 (a double compare would say equal)
                            rec("d", {{"big", std::int64_t{9007199254740993}}}),
                            rec("e", {{"big", std::int64_t{9007199254740992}}, {"score", 0.0}}),
                            rec("f", {{"doc", std::string("doc123")}}),  // full match only
                            rec("g", {{"doc", std::string("doc12")}})});
  EXPECT_THAT(findings, ElementsAre(finding("enum_violation", "kb_en", "lang", R"(["en","de"])", "",
                                            1, {"a"}, {"\"fr\""}),
                                    finding("range_violation", "kb_en", "big",
                                            "value <= 9.007199254740992e+15", "", 1, {"d"},
                                            {"9007199254740993"}),
                                    finding("range_violation", "kb_en", "n", "0 <= value <= 10", "",
                                            2, {"a", "b"}, {"-1", "11"}),
                                    finding("range_violation", "kb_en", "score", "0 <= value <= 1",
                                            "", 2, {"b", "c"}, {"1.5", "NaN"}),
                                    finding("pattern_violation", "kb_en", "doc", "doc[0-9]{2}", "",
                                            1, {"f"}, {"\"doc123\""})));
}

TEST(ContractCheckTest, RequiredKeysMustBePresentOptionalOnesMayBeAbsent) {
  auto c = two_collections(R"({"doc_id": {"type": "string", "required": true},
                               "lang": {"type": "string"}})");
  auto findings = check(c, {rec("a", {}), rec("b", {{"lang", std::string("en")}}),
                            rec("c", {{"doc_id", std::string("x")}})});
  EXPECT_THAT(findings,
              ElementsAre(finding("missing_key", "kb_en", "doc_id", "string", "", 2, {"a", "b"})));
}

TEST(ContractCheckTest, ExtraKeysOnlyWhenNotAllowed) {
  const std::string fields = R"({"a": {"type": "int"}, "z": {"type": "int",
                                  "collections": ["support_v2"]}})";
  std::vector<Record> records = {rec("r1", {{"a", std::int64_t{1}}, {"b", std::string("x")}}),
                                 rec("r2", {{"b", std::string("y")}, {"z", std::int64_t{2}}})};
  EXPECT_TRUE(check(two_collections(fields, true), records).empty());
  // z's rule is for support_v2 only, so in kb_en z is an extra key.
  EXPECT_THAT(
      check(two_collections(fields, false), records),
      ElementsAre(finding("extra_key", "kb_en", "b", "", "", 2, {"r1", "r2"}, {"\"x\"", "\"y\""}),
                  finding("extra_key", "kb_en", "z", "", "", 1, {"r2"}, {"2"})));
}

TEST(ContractCheckTest, CollectionSettingsWithPerCollectionOverrides) {
  auto c = contract_from(R"({"contract_version": "2.0", "embedding_dimension": 3, "space": "cosine",
    "embedding_model": "mini", "embedding_model_key": "model",
    "collections": {"a_col": {}, "b_col": {"space": "l2", "embedding_dimension": 4},
                    "c_col": {"embedding_model": "big"}, "d_col": {}, "e_col": {}}})");
  ContractChecker checker(c);
  checker.check_collection("a_col", "l2", 4, {{"model", std::string("mini")}});
  checker.check_collection("b_col", "l2", 4, {{"model", std::string("mini")}});
  checker.check_collection("c_col", "cosine", 3, {{"model", std::string("mini")}});
  checker.check_collection("d_col", "", std::nullopt, {{"model", std::int64_t{3}}});  // unknown
  checker.check_collection("legacy", "l2", 3, {});
  EXPECT_THAT(
      checker.finish(),
      ElementsAre(finding("wrong_dimension", "a_col", "", "3", "4", 0, {}),
                  finding("wrong_space", "a_col", "", "cosine", "l2", 0, {}),
                  finding("wrong_embedding_model", "c_col", "model", "big", "mini", 0, {}),
                  finding("wrong_embedding_model", "d_col", "model", "mini", "3 (int)", 0, {}),
                  finding("missing_collection", "e_col", "", "", "", 0, {}),
                  finding("unexpected_collection", "legacy", "", "", "", 0, {})));
}

TEST(ContractCheckTest, AbsentEmbeddingModelIsReported) {
  ContractChecker checker(two_collections("{}"));
  checker.check_collection("kb_en", "cosine", 3, {});
  checker.check_collection("support_v2", "l2", 3, {{"embedding_model", std::string("mini")}});
  EXPECT_THAT(checker.finish(), ElementsAre(finding("wrong_embedding_model", "kb_en",
                                                    "embedding_model", "mini", "(absent)", 0, {})));
}

TEST(ContractCheckTest, RecordEmbeddingsDimensionAndFiniteness) {
  ContractChecker checker(two_collections("{}"));
  checker.check_collection("kb_en", "cosine", 4, {{"embedding_model", std::string("mini")}});
  const float inf = std::numeric_limits<float>::infinity();
  checker.check_record("kb_en", rec("a", {}, {1, 2, 3, 4}));
  checker.check_record("kb_en", rec("b", {}, {1, std::nanf(""), 3}));
  checker.check_record("kb_en", rec("c", {}, {1, 2, 3, inf}));
  checker.check_record("support_v2", rec("d", {}, {1, 2}));  // seen through a record only
  EXPECT_THAT(checker.finish(),
              ElementsAre(finding("wrong_dimension", "kb_en", "", "3", "4", 2, {"a", "c"}),
                          finding("non_finite_embedding", "kb_en", "", "", "", 2, {"b", "c"}),
                          finding("wrong_dimension", "support_v2", "", "3", "2", 1, {"d"})));
}

TEST(ContractCheckTest, UnexpectedCollectionIsOneFindingCountingItsRecords) {
  ContractChecker checker(two_collections(R"({"n": {"type": "int", "required": true}})"));
  checker.check_collection("legacy", "l2", 3, {});
  for (int i = 0; i < 7; ++i) checker.check_record("legacy", rec("l" + std::to_string(i), {}));
  checker.check_record("kb_en", rec("k", {{"n", std::int64_t{1}}}));
  checker.check_record("support_v2", rec("s", {{"n", std::int64_t{1}}}));
  EXPECT_THAT(checker.finish(), ElementsAre(finding("unexpected_collection", "legacy", "", "", "",
                                                    7, {"l0", "l1", "l2", "l3", "l4"})));
}

TEST(ContractCheckTest, AggregatesCountsAndCapsSamplesAtFive) {
  ContractChecker checker(two_collections(R"({"n": {"type": "int"}})"));
  checker.check_collection("kb_en", "cosine", 3, {{"embedding_model", std::string("mini")}});
  checker.check_collection("support_v2", "l2", 3, {{"embedding_model", std::string("mini")}});
  for (int i = 0; i < 1204; ++i) {
    checker.check_record(i % 2 ? "kb_en" : "support_v2",
                         rec("r" + std::to_string(i), {{"n", std::string("x")}}));
  }
  auto findings = checker.finish();
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0],
            finding("wrong_type", "kb_en", "n", "int", "string", 602,
                    {"r1", "r3", "r5", "r7", "r9"}, {"\"x\"", "\"x\"", "\"x\"", "\"x\"", "\"x\""}));
  EXPECT_EQ(findings[1].collection, "support_v2");
  EXPECT_EQ(findings[1].count, 602u);
  EXPECT_EQ(findings[1].sample_ids.size(), kMaxSamples);
  EXPECT_EQ(render_findings({findings[0]}),
            "kb_en: key \"n\": wrong type, expected int, found string in 602 records (e.g. r1 = "
            "\"x\", r3 = \"x\", r5 = \"x\", r7 = \"x\", r9 = \"x\", ...)\n");
}

TEST(ContractCheckTest, ReferencesResolveAcrossCollectionsAndExistingIds) {
  auto c = two_collections(R"({"cites": {"type": "string", "references": "id"}})");
  ContractChecker checker(c);
  checker.check_collection("kb_en", "cosine", 3, {{"embedding_model", std::string("mini")}});
  checker.check_collection("support_v2", "l2", 3, {{"embedding_model", std::string("mini")}});
  checker.check_record("kb_en", rec("k1", {{"cites", std::string("s1")}}));       // forward, other
  checker.check_record("kb_en", rec("k2", {{"cites", std::string("k2")}}));       // itself
  checker.check_record("kb_en", rec("k3", {{"cites", std::string("old1")}}));     // existing id
  checker.check_record("kb_en", rec("k4", {{"cites", std::string("gone")}}));     // dangling
  checker.check_record("kb_en", rec("k5", {{"cites", std::string("gone")}}));     // same target
  checker.check_record("kb_en", rec("k6", {{"cites", std::string("gone2")}}));    // dangling
  checker.check_record("support_v2", rec("s1", {{"cites", std::string("k1")}}));  // backward
  checker.check_record("support_v2", rec("s2", {{"cites", std::string("nope")}}));
  checker.check_record("legacy", rec("l1", {}));  // records of any collection can be cited
  checker.check_record("kb_en", rec("k7", {{"cites", std::string("l1")}}));
  checker.check_record("kb_en", rec("k8", {{"cites", std::string()}}));  // "" cites nothing
  const std::vector<std::string> existing = {"old1"};
  checker.add_existing_ids(existing);
  EXPECT_THAT(checker.finish(),
              ElementsAre(finding("dangling_reference", "kb_en", "cites", "", "", 3, {"k4", "k6"},
                                  {"\"gone\"", "\"gone2\""}),
                          finding("unexpected_collection", "legacy", "", "", "", 1, {"l1"}),
                          finding("dangling_reference", "support_v2", "cites", "", "", 1, {"s2"},
                                  {"\"nope\""})));
}

TEST(ContractCheckTest, RendersActionableLines) {
  std::vector<Finding> findings = {
      finding("wrong_type", "kb_en", "chunk_no", "int", "string", 1204,
              {"kb_articles-doc00001-c02"}, {"\"2\""}),
      finding("wrong_space", "support_v2", "", "cosine", "l2", 0, {}),
      finding("missing_collection", "kb_en", "", "", "", 0, {}),
      finding("unexpected_collection", "legacy", "", "", "", 2, {"a", "b"}),
      finding("missing_key", "kb_en", "doc_id", "string", "", 1, {"x"}),
      finding("range_violation", "kb_en", "score", "0 <= value <= 1.0", "", 3, {"a", "b"},
              {"1.5", "-0.1"}),
      finding("wrong_embedding_model", "kb_en", "embedding_model", "mini", "(absent)", 0, {}),
      finding("wrong_embedding_model", "kb_en", "model", "mini", "big", 0, {}),
      finding("dangling_reference", "kb_en", "cites", "", "", 1, {"k4"}, {"\"gone\""}),
  };
  EXPECT_EQ(
      render_findings(findings),
      "kb_en: key \"chunk_no\": wrong type, expected int, found string in 1,204 records (e.g. "
      "kb_articles-doc00001-c02 = \"2\", ...)\n"
      "support_v2: space is l2, contract says cosine: recreate the collection with space cosine "
      "or fix the contract\n"
      "kb_en: collection is missing: migrate into it or remove it from the contract\n"
      "legacy: collection is not in the contract (2 records, e.g. a, b): add it to the "
      "contract's \"collections\" or leave it out of the migration\n"
      "kb_en: key \"doc_id\": required string missing in 1 record (e.g. x)\n"
      "kb_en: key \"score\": value out of range (0 <= value <= 1.0) in 3 records (e.g. a = 1.5, b "
      "= -0.1, "
      "...)\n"
      "kb_en: collection metadata \"embedding_model\" is absent, contract says mini: set it if the "
      "records were embedded with mini, otherwise re-embed or fix the contract\n"
      "kb_en: embedding model (collection metadata \"model\") is big, contract says mini: "
      "re-embed with mini or fix the contract\n"
      "kb_en: key \"cites\": references a record id that does not exist in 1 record (e.g. k4 = "
      "\"gone\")\n");
  EXPECT_EQ(render_findings({}), "");
}

TEST(ContractCheckTest, FindingsAsJson) {
  auto json = findings_to_json(
      {finding("enum_violation", "kb_en", "lang", R"(["en"])", "", 1, {"a"}, {"\"xx\""})});
  EXPECT_EQ(json, nlohmann::json::parse(R"([{"kind": "enum_violation", "collection": "kb_en",
    "key": "lang", "expected": "[\"en\"]", "actual": "", "count": 1, "sample_ids": ["a"],
    "sample_values": ["\"xx\""]}])"));
}

}  // namespace
}  // namespace cm::contracts
