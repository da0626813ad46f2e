// The shipped example contract (contracts/examples/v2.contract.json) must load, must describe
// exactly what the shipped mapping (flat_to_v2.mapping.json) produces, and the demo corpus
// transformed by that mapping must satisfy it with no finding at all.
#include <gtest/gtest.h>

#include <set>

#include "contracts/contract.hpp"
#include "contracts/mapping.hpp"
#include "tools/corpus.hpp"

namespace cm::contracts {
namespace {

const std::string kExamples = std::string(CM_SOURCE_DIR) + "/contracts/examples/";

Contract example_contract() {
  auto contract = load_contract(kExamples + "v2.contract.json");
  EXPECT_TRUE(contract) << contract.error().message;
  return contract ? *contract : Contract{};
}

Mapping example_mapping() {
  auto mapping = load_mapping(kExamples + "flat_to_v2.mapping.json");
  EXPECT_TRUE(mapping) << mapping.error().message;
  return mapping ? *mapping : Mapping{};
}

// The type a mapping rule writes, when the mapping alone decides it.
std::optional<ValueType> written_type(const MappingFieldRule& rule) {
  // MetaValue's alternatives are in ValueType order (string, int, float, bool).
  auto of_value = [](const MetaValue& v) { return static_cast<ValueType>(v.index()); };
  switch (rule.kind) {
    case MappingFieldRule::Kind::kConst:
      return of_value(rule.constant);
    case MappingFieldRule::Kind::kCompute:
      return rule.compute == ComputeKind::kDocumentLength ||
                     rule.compute == ComputeKind::kDocumentBytes
                 ? ValueType::kInt
                 : ValueType::kString;
    case MappingFieldRule::Kind::kCopy:
      if (rule.cast) {
        switch (*rule.cast) {
          case ValueType::kString:
            return ValueType::kString;
          case ValueType::kInt:
            return ValueType::kInt;
          case ValueType::kFloat:
            return ValueType::kFloat;
          case ValueType::kBool:
            return ValueType::kBool;
        }
      }
      if (rule.default_value) return of_value(*rule.default_value);
      return std::nullopt;
  }
  return std::nullopt;
}

TEST(ContractExampleTest, LoadsTheExampleContract) {
  Contract c = example_contract();
  EXPECT_EQ(c.version, "2.0");
  EXPECT_EQ(c.collections.size(), 4u);
  EXPECT_EQ(c.fields.size(), 12u);
  EXPECT_FALSE(c.allow_extra_fields);
  EXPECT_TRUE(c.fields.at("cites").references_ids);
}

TEST(ContractExampleTest, MatchesTheExampleMappingsTargetsAndKeys) {
  Contract c = example_contract();
  Mapping m = example_mapping();
  std::set<std::string> contract_collections, mapping_targets;
  for (const auto& e : c.collections) contract_collections.insert(e.name);
  for (const auto& [name, target] : m.targets) mapping_targets.insert(name);
  EXPECT_EQ(contract_collections, mapping_targets);

  std::set<std::string> written;
  for (const auto& rule : m.fields) {
    written.insert(rule.to);
    auto field = c.fields.find(rule.to);
    if (field == c.fields.end()) {
      ADD_FAILURE() << "the mapping writes \"" << rule.to << "\", the contract does not list it";
      continue;
    }
    // Required exactly when every record gets the key, whatever its source metadata.
    const bool always = rule.kind != MappingFieldRule::Kind::kCopy || rule.default_value;
    EXPECT_EQ(field->second.required, always) << rule.to;
    if (auto type = written_type(rule)) {
      EXPECT_EQ(field->second.type, *type) << rule.to;
    }
  }
  for (const auto& [key, rule] : c.fields) {
    EXPECT_TRUE(written.contains(key)) << "the contract lists \"" << key << "\", no rule writes it";
  }
}

TEST(ContractExampleTest, TheTransformedDemoCorpusSatisfiesIt) {
  Contract c = example_contract();
  Mapping m = example_mapping();
  corpus::CorpusOptions options;
  options.total_records = 2000;
  ContractChecker checker(c);

  std::vector<CollectionInfo> sources;
  for (const auto& spec : corpus::collection_specs(options)) {
    sources.push_back(CollectionInfo{spec.name, "", spec.metadata, spec.hnsw, options.dimension});
  }
  auto targets = plan_target_collections(m, sources);
  ASSERT_TRUE(targets) << targets.error().message;
  for (const auto& t : *targets)
    checker.check_collection(t.name, t.hnsw.space, std::nullopt, t.metadata);

  const TransformContext context{"run-1", "2024-01-01T00:00:00Z"};
  std::size_t routed = 0;
  for (std::size_t col = 0; col < sources.size(); ++col) {
    for (std::size_t i = 0; i < corpus::records_in(options, col); ++i) {
      auto out =
          transform_record(m, sources[col].name, corpus::make_record(options, col, i), context);
      ASSERT_TRUE(out) << out.error().message;
      ASSERT_EQ(out->outcome, Transformed::Outcome::kRouted) << out->problem;
      checker.check_record(out->target, out->record);
      ++routed;
    }
  }
  EXPECT_EQ(routed, options.total_records);
  auto findings = checker.finish();
  EXPECT_TRUE(findings.empty()) << render_findings(findings);
}

TEST(ContractExampleTest, ABrokenTransformIsCaught) {
  // The same corpus with one key of the wrong type and one dangling citation.
  Contract c = example_contract();
  Mapping m = example_mapping();
  corpus::CorpusOptions options;
  options.total_records = 400;
  ContractChecker checker(c);
  for (std::size_t i = 0; i < corpus::records_in(options, 1); ++i) {
    auto out = transform_record(m, "support_tickets", corpus::make_record(options, 1, i), {});
    ASSERT_TRUE(out) << out.error().message;
    if (i == 3) out->record.metadata["chunk_no"] = 3.0;
    if (i == 4) out->record.metadata["cites"] = std::string("support_tickets-doc99999-c00");
    checker.check_record(out->target, out->record);
  }
  auto findings = checker.finish();
  std::string report = render_findings(findings);
  EXPECT_NE(report.find("support_v2: key \"chunk_no\": wrong type, expected int, found float in 1 "
                        "record (e.g. support_tickets-doc00000-c03 = 3.0)"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("support_v2: key \"cites\": references a record id that does not exist in "
                        "1 record (e.g. support_tickets-doc00000-c04 = "
                        "\"support_tickets-doc99999-c00\")"),
            std::string::npos)
      << report;
  // The three collections never seen are reported missing.
  EXPECT_EQ(findings.size(), 5u) << report;
}

}  // namespace
}  // namespace cm::contracts
