// Loading contracts: the accepted format, and one test per validation error naming its place.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/atomic_file.hpp"
#include "contracts/contract.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::contracts {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kFull = R"({
  "contract_version": "2.0",
  "embedding_dimension": 384,
  "space": "cosine",
  "embedding_model": "all-MiniLM-L6-v2",
  "collections": {
    "support_v2": {"space": "l2", "embedding_dimension": 768},
    "kb_en": {}
  },
  "fields": {
    "doc_id":   {"type": "string", "required": true, "pattern": "^doc[0-9]{5}$"},
    "chunk_no": {"type": "int", "required": true, "min": 0, "max": 10000},
    "language": {"type": "string", "enum": ["en", "de", "fr", "ja", "es"]},
    "score":    {"type": "float", "min": 0, "max": 1.0},
    "public":   {"type": "bool", "collections": ["kb_en"]},
    "cites":    {"type": "string", "references": "id"}
  },
  "allow_extra_fields": false
})";

Result<Contract> parse(const std::string& text) {
  return parse_contract(nlohmann::json::parse(text), "contract.json");
}

// The error message for a contract whose top level is `base` with `patch` merged over it.
std::string error_for(const std::string& patch) {
  auto doc = nlohmann::json::parse(R"({"contract_version": "2.0", "collections": {"kb_en": {}}})");
  doc.merge_patch(nlohmann::json::parse(patch));
  auto contract = parse_contract(doc, "contract.json");
  if (contract) return "(parsed)";
  EXPECT_EQ(contract.error().code, ErrorCode::kInvalidArgument);
  return contract.error().message;
}

std::string field_error(const std::string& rule) {
  return error_for(R"({"fields": {"f": )" + rule + "}}");
}

TEST(ContractParseTest, ParsesEverySettingAndAppliesDefaults) {
  auto c = parse(kFull);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->version, "2.0");
  EXPECT_FALSE(c->allow_extra_fields);
  EXPECT_EQ(c->embedding_model_key, "embedding_model");
  ASSERT_EQ(c->collections.size(), 2u);
  EXPECT_EQ(c->collections[0].name, "kb_en");  // sorted by name
  const auto* kb = c->find_collection("kb_en");
  ASSERT_NE(kb, nullptr);
  EXPECT_EQ(kb->dimension, 384);
  EXPECT_EQ(kb->space, "cosine");
  EXPECT_EQ(kb->embedding_model, "all-MiniLM-L6-v2");
  const auto* support = c->find_collection("support_v2");
  ASSERT_NE(support, nullptr);
  EXPECT_EQ(support->dimension, 768);
  EXPECT_EQ(support->space, "l2");
  EXPECT_EQ(support->embedding_model, "all-MiniLM-L6-v2");
  EXPECT_EQ(c->find_collection("nope"), nullptr);

  const auto& chunk = c->fields.at("chunk_no");
  EXPECT_EQ(chunk.type, ValueType::kInt);
  EXPECT_TRUE(chunk.required);
  EXPECT_EQ(chunk.min, Bound(std::int64_t{0}));
  EXPECT_EQ(chunk.max, Bound(std::int64_t{10000}));
  const auto& score = c->fields.at("score");
  EXPECT_EQ(score.min, Bound(std::int64_t{0}));  // kept as written; compared exactly
  EXPECT_EQ(score.max, Bound(1.0));
  EXPECT_FALSE(score.required);
  ASSERT_NE(c->fields.at("doc_id").pattern_regex, nullptr);
  EXPECT_EQ(c->fields.at("doc_id").pattern, "^doc[0-9]{5}$");
  EXPECT_EQ(c->fields.at("language").enum_values.size(), 5u);
  EXPECT_TRUE(c->fields.at("cites").references_ids);
  EXPECT_TRUE(c->fields.at("public").applies_to("kb_en"));
  EXPECT_FALSE(c->fields.at("public").applies_to("support_v2"));
  EXPECT_TRUE(c->fields.at("doc_id").applies_to("support_v2"));
  EXPECT_EQ(c->source, nlohmann::json::parse(kFull));
}

TEST(ContractParseTest, UnsetSettingsAreNotConstrained) {
  auto c = parse(R"({"contract_version": "2.0", "collections": {"kb_en": {"space": "ip"}},
                     "embedding_model_key": "model"})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->collections[0].dimension, std::nullopt);
  EXPECT_EQ(c->collections[0].embedding_model, std::nullopt);
  EXPECT_EQ(c->collections[0].space, "ip");
  EXPECT_EQ(c->embedding_model_key, "model");
  EXPECT_TRUE(c->allow_extra_fields);
  EXPECT_TRUE(c->fields.empty());
}

TEST(ContractParseTest, FloatEnumsAndBoundsAcceptIntegersIntEnumsDoNot) {
  auto c = parse(R"({"contract_version": "2.0", "collections": {"kb_en": {}},
                     "fields": {"v": {"type": "float", "enum": [1, 2.5]},
                                "b": {"type": "bool", "enum": [true]}}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->fields.at("v").enum_values, (std::vector<MetaValue>{1.0, 2.5}));
  EXPECT_EQ(c->fields.at("b").enum_values, (std::vector<MetaValue>{true}));
  EXPECT_EQ(field_error(R"({"type": "int", "enum": [1, 3.0]})"),
            "contract.json: fields.f.enum[1]: must be an int (the field's type)");
}

TEST(ContractParseTest, TopLevelErrorsNameThePlace) {
  EXPECT_EQ(parse("[]").error().message, "contract.json: must be a JSON object");
  EXPECT_THAT(
      error_for(R"({"colections": {}})"),
      StartsWith("contract.json: colections: unknown key (expected one of contract_version, "));
  EXPECT_EQ(parse(R"({"collections": {"kb_en": {}}})").error().message,
            "contract.json: contract_version: missing (a label such as \"2.0\")");
  EXPECT_EQ(
      error_for(R"({"contract_version": ""})"),
      "contract.json: contract_version: must be a non-empty string such as \"2.0\", not \"\"");
  EXPECT_EQ(error_for(R"({"contract_version": 2.0})"),
            "contract.json: contract_version: must be a non-empty string such as \"2.0\", not 2.0");
  auto labelled = parse(R"({"contract_version": "2024-11 rev 3", "collections": {"kb_en": {}}})");
  ASSERT_TRUE(labelled) << labelled.error().message;
  EXPECT_EQ(labelled->version, "2024-11 rev 3");
  for (const char* bad : {"0", "-1", "384.5", "\"384\""}) {
    EXPECT_EQ(error_for(std::string(R"({"embedding_dimension": )") + bad + "}"),
              "contract.json: embedding_dimension: must be a positive integer")
        << bad;
  }
  EXPECT_EQ(error_for(R"({"space": "dot"})"),
            "contract.json: space: must be one of l2, cosine, ip (found \"dot\")");
  EXPECT_EQ(error_for(R"({"embedding_model": ""})"),
            "contract.json: embedding_model: must be a non-empty string");
  EXPECT_EQ(error_for(R"({"embedding_model_key": 3})"),
            "contract.json: embedding_model_key: must be a non-empty string");
  EXPECT_EQ(error_for(R"({"allow_extra_fields": "yes"})"),
            "contract.json: allow_extra_fields: must be true or false");
  EXPECT_EQ(error_for(R"({"description": 1})"), "contract.json: description: must be a string");
}

TEST(ContractParseTest, CollectionErrorsNameThePlace) {
  EXPECT_EQ(parse(R"({"contract_version": "2.0"})").error().message,
            "contract.json: collections: missing (name every target collection)");
  EXPECT_EQ(parse(R"({"contract_version": "2.0", "collections": {}})").error().message,
            "contract.json: collections: must be a non-empty object mapping collection names to "
            "settings");
  EXPECT_THAT(error_for(R"({"collections": {"a": {}}})"),
              StartsWith("contract.json: collections.a: invalid collection name: "));
  EXPECT_EQ(error_for(R"({"collections": {"kb_en": 3}})"),
            "contract.json: collections.kb_en: must be an object");
  EXPECT_EQ(error_for(R"({"collections": {"kb_en": {"spaec": "l2"}}})"),
            "contract.json: collections.kb_en.spaec: unknown key (expected one of description, "
            "embedding_dimension, space, embedding_model)");
  EXPECT_EQ(error_for(R"({"collections": {"kb_en": {"space": "L2"}}})"),
            "contract.json: collections.kb_en.space: must be one of l2, cosine, ip (found \"L2\")");
  EXPECT_EQ(error_for(R"({"collections": {"kb_en": {"embedding_dimension": 0}}})"),
            "contract.json: collections.kb_en.embedding_dimension: must be a positive integer");
}

TEST(ContractParseTest, FieldErrorsNameThePlace) {
  EXPECT_EQ(error_for(R"({"fields": []})"), "contract.json: fields: must be an object");
  EXPECT_EQ(field_error("3"), "contract.json: fields.f: must be an object");
  EXPECT_EQ(field_error("{}"),
            "contract.json: fields.f.type: missing (one of string, int, float, bool)");
  EXPECT_EQ(field_error(R"({"type": "integer"})"),
            "contract.json: fields.f.type: must be one of string, int, float, bool");
  EXPECT_THAT(field_error(R"({"type": "int", "requird": true})"),
              StartsWith("contract.json: fields.f.requird: unknown key (expected one of type, "));
  EXPECT_EQ(field_error(R"({"type": "int", "required": 1})"),
            "contract.json: fields.f.required: must be true or false");
  EXPECT_EQ(field_error(R"({"type": "int", "enum": []})"),
            "contract.json: fields.f.enum: must be a non-empty array");
  EXPECT_EQ(field_error(R"({"type": "string", "enum": ["a", 3]})"),
            "contract.json: fields.f.enum[1]: must be a string (the field's type)");
  EXPECT_EQ(field_error(R"({"type": "bool", "enum": [1]})"),
            "contract.json: fields.f.enum[0]: must be a bool (the field's type)");
  EXPECT_EQ(field_error(R"({"type": "string", "min": 0})"),
            "contract.json: fields.f.min: only int and float fields can have a range");
  EXPECT_EQ(field_error(R"({"type": "int", "min": "0"})"),
            "contract.json: fields.f.min: must be a number");
  EXPECT_EQ(field_error(R"({"type": "float", "max": [1]})"),
            "contract.json: fields.f.max: must be a number");
  EXPECT_EQ(field_error(R"({"type": "int", "min": 18446744073709551615})"),
            "contract.json: fields.f.min: integer out of 64-bit range");
  EXPECT_EQ(field_error(R"({"type": "float", "min": 1, "max": 0.5})"),
            "contract.json: fields.f: min is greater than max");
  EXPECT_EQ(field_error(R"({"type": "int", "pattern": "^1$"})"),
            "contract.json: fields.f.pattern: only string fields can have a pattern");
  EXPECT_EQ(field_error(R"({"type": "string", "pattern": ""})"),
            "contract.json: fields.f.pattern: must be a non-empty string");
  EXPECT_THAT(field_error(R"({"type": "string", "pattern": "(["})"),
              StartsWith("contract.json: fields.f.pattern: not a valid ECMAScript regular "
                         "expression ("));
  EXPECT_EQ(field_error(R"({"type": "string", "references": "doc_id"})"),
            "contract.json: fields.f.references: must be \"id\" (the only target)");
  EXPECT_EQ(field_error(R"({"type": "int", "references": "id"})"),
            "contract.json: fields.f.references: only string fields can reference record ids");
  EXPECT_EQ(field_error(R"({"type": "int", "collections": "kb_en"})"),
            "contract.json: fields.f.collections: must be a non-empty array of collection names");
  EXPECT_EQ(field_error(R"({"type": "int", "collections": ["kb_en", "kb_fr"]})"),
            "contract.json: fields.f.collections[1]: \"kb_fr\" is not one of the contract's "
            "\"collections\"");
  EXPECT_EQ(field_error(R"({"type": "int", "description": false})"),
            "contract.json: fields.f.description: must be a string");
  EXPECT_EQ(
      error_for(R"({"fields": {"$f": {"type": "int"}}})"),
      "contract.json: fields.$f: Chroma metadata keys must not be empty or start with # or $");
}

class ContractLoadTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = cm::testing::make_temp_dir("contract"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& text) {
    auto path = dir_ / "contract.json";
    EXPECT_TRUE(write_file_atomic(path, text));
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ContractLoadTest, LoadsAFileWithComments) {
  auto path = write(R"({
    // the defaults
    "contract_version": "2.0", /* block */ "collections": {"kb_en": {}}
  })");
  auto c = load_contract(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->collections.size(), 1u);
}

TEST_F(ContractLoadTest, ErrorsNameTheFile) {
  auto missing = load_contract(dir_ / "absent.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("absent.json"));

  auto path = write(R"({"contract_version": "2.0",)");
  auto invalid = load_contract(path);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(invalid.error().message, StartsWith(path.string() + ": not valid JSON: "));

  write(R"({"contract_version": "2.0", "collections": {"kb_en": {"space": "x"}}})");
  EXPECT_EQ(
      load_contract(path).error().message,
      path.string() + ": collections.kb_en.space: must be one of l2, cosine, ip (found \"x\")");
}

}  // namespace
}  // namespace cm::contracts
