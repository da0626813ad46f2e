// ContractChecker's per-record checks: embedding dimension and finiteness, then the field rules.
#include <algorithm>
#include <cmath>
#include <regex>

#include "contracts/contract_check_state.hpp"

namespace cm::contracts {

using namespace detail;  // NOLINT: the checker's own internals

void ContractChecker::State::check_embedding(const std::string& collection,
                                             const CollectionState& cs, const Record& r) {
  const auto& dimension = cs.expectation->dimension;
  if (dimension && r.embedding.size() != static_cast<std::size_t>(*dimension)) {
    add_sample(note(findings, collection, kWrongDimension, "", cs.dimension_text,
                    std::to_string(r.embedding.size())),
               r.id, nullptr);
  }
  if (!std::all_of(r.embedding.begin(), r.embedding.end(),
                   [](float x) { return std::isfinite(x); })) {
    add_sample(note(findings, collection, kNonFiniteEmbedding, "", "", ""), r.id, nullptr);
  }
}

// Walks the record's metadata and the collection's rules together (both sorted by key): a rule
// without a key is a missing key, a key without a rule is an extra key.
void ContractChecker::State::check_fields(const std::string& collection, const CollectionState& cs,
                                          const Record& r) {
  auto rule = cs.rules.begin();
  auto meta = r.metadata.begin();
  while (rule != cs.rules.end() || meta != r.metadata.end()) {
    const bool rule_first =
        meta == r.metadata.end() || (rule != cs.rules.end() && *rule->key < meta->first);
    if (rule_first) {
      if (rule->rule->required) {
        add_sample(note(findings, collection, kMissingKey, *rule->key,
                        value_type_name(rule->rule->type), ""),
                   r.id, nullptr);
      }
      ++rule;
    } else if (rule == cs.rules.end() || meta->first < *rule->key) {
      if (!contract.allow_extra_fields) {
        add_sample(note(findings, collection, kExtraKey, meta->first, "", ""), r.id, &meta->second);
      }
      ++meta;
    } else {
      check_value(collection, *rule, r, meta->second);
      ++rule;
      ++meta;
    }
  }
}

void ContractChecker::State::check_value(const std::string& collection, const RuleRef& ref,
                                         const Record& r, const MetaValue& value) {
  const FieldRule& rule = *ref.rule;
  const std::string& key = *ref.key;
  if (value.index() != variant_index(rule.type)) {
    add_sample(note(findings, collection, kWrongType, key, value_type_name(rule.type),
                    value_type_name(value)),
               r.id, &value);
    return;  // the other constraints are about values of the right type
  }
  if (!rule.enum_values.empty() && std::find(rule.enum_values.begin(), rule.enum_values.end(),
                                             value) == rule.enum_values.end()) {
    add_sample(note(findings, collection, kEnumViolation, key, ref.enum_text, ""), r.id, &value);
  }
  if (rule.min || rule.max) {
    const auto* d = std::get_if<double>(&value);
    bool outside = d && std::isnan(*d);  // NaN is in no range
    if (!outside) {
      Bound number = d ? Bound(*d) : Bound(std::get<std::int64_t>(value));
      outside = (rule.min && detail::compare_numbers(number, *rule.min) < 0) ||
                (rule.max && detail::compare_numbers(number, *rule.max) > 0);
    }
    if (outside) {
      add_sample(note(findings, collection, kRangeViolation, key, ref.range_text, ""), r.id,
                 &value);
    }
  }
  if (rule.pattern_regex && !std::regex_match(std::get<std::string>(value), *rule.pattern_regex)) {
    add_sample(note(findings, collection, kPatternViolation, key, rule.pattern, ""), r.id, &value);
  }
  if (rule.references_ids) {
    const auto& target = std::get<std::string>(value);
    // Chroma ids are never empty, so "" is free to mean "cites nothing" (a mapping default).
    if (target.empty()) return;
    const IdHash hash = id_hash(target);
    if (known_ids.contains(hash)) return;  // resolved now; most citations point backwards
    PendingRef& p = pending[PendingKey{ref.ref_group, hash}];
    if (p.count++ == 0) {
      p.order = pending_order++;
      p.first_id = r.id;
      p.value = target;
    }
  }
}

}  // namespace cm::contracts
