// ContractChecker: collection-level checks, aggregation of findings, and finish(). The per-record
// checks are in contract_check_record.cpp.
#include <algorithm>
#include <string>

#include "contracts/contract_check_state.hpp"

namespace cm::contracts {
namespace detail {

Finding& note(FindingMap& findings, std::string_view collection, Rank rank, std::string_view key,
              std::string_view expected, std::string_view actual) {
  AggKey agg{std::string(collection), rank, std::string(key), std::string(expected),
             std::string(actual)};
  auto it = findings.find(agg);
  if (it == findings.end()) {
    Finding f;
    f.kind = kKindOrder[rank];
    f.collection = collection;
    f.key = key;
    f.expected = expected;
    f.actual = actual;
    it = findings.emplace(std::move(agg), std::move(f)).first;
  }
  return it->second;
}

void add_sample(Finding& f, const std::string& id, const MetaValue* value) {
  ++f.count;
  if (f.sample_ids.size() >= kMaxSamples) return;
  f.sample_ids.push_back(id);
  if (value) f.sample_values.push_back(render_value(*value));
}

}  // namespace detail

using namespace detail;  // NOLINT: the checker's own internals

ContractChecker::ContractChecker(const Contract& contract) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.contract = contract;
  for (const auto& expectation : s.contract.collections) {
    CollectionState cs{&expectation, {}, {}, false};
    if (expectation.dimension) cs.dimension_text = std::to_string(*expectation.dimension);
    for (const auto& [key, rule] : s.contract.fields) {
      if (!rule.applies_to(expectation.name)) continue;
      RuleRef ref{&key, &rule, detail::enum_text(rule), detail::range_text(rule), 0};
      if (rule.references_ids) {
        s.track_ids = true;
        ref.ref_group = static_cast<std::uint32_t>(s.ref_groups.size());
        s.ref_groups.emplace_back(expectation.name, key);
      }
      cs.rules.push_back(std::move(ref));
    }
    s.collections.emplace(expectation.name, std::move(cs));
  }
}

ContractChecker::~ContractChecker() = default;
ContractChecker::ContractChecker(ContractChecker&&) noexcept = default;
ContractChecker& ContractChecker::operator=(ContractChecker&&) noexcept = default;

void ContractChecker::check_collection(const std::string& name, const std::string& space,
                                       std::optional<int> dimension, const Metadata& metadata) {
  State& s = *state_;
  auto it = s.collections.find(name);
  if (it == s.collections.end()) {
    note(s.findings, name, kUnexpectedCollection, "", "", "");
    return;
  }
  CollectionState& cs = it->second;
  cs.seen = true;
  const CollectionExpectation& e = *cs.expectation;
  if (e.space && !space.empty() && space != *e.space) {
    note(s.findings, name, kWrongSpace, "", *e.space, space);
  }
  if (e.dimension && dimension && *dimension != *e.dimension) {
    note(s.findings, name, kWrongDimension, "", cs.dimension_text, std::to_string(*dimension));
  }
  if (e.embedding_model) {
    const std::string& key = s.contract.embedding_model_key;
    auto m = metadata.find(key);
    std::string actual = "(absent)";
    if (m != metadata.end()) {
      const auto* text = std::get_if<std::string>(&m->second);
      actual = text ? *text : render_value(m->second) + " (" + value_type_name(m->second) + ")";
    }
    if (actual != *e.embedding_model) {
      note(s.findings, name, kWrongEmbeddingModel, key, *e.embedding_model, actual);
    }
  }
}

void ContractChecker::check_record(const std::string& collection, const Record& record) {
  State& s = *state_;
  if (s.track_ids) s.known_ids.insert(id_hash(record.id));
  auto it = s.collections.find(collection);
  if (it == s.collections.end()) {
    add_sample(note(s.findings, collection, kUnexpectedCollection, "", "", ""), record.id, nullptr);
    return;
  }
  it->second.seen = true;
  s.check_embedding(collection, it->second, record);
  s.check_fields(collection, it->second, record);
}

void ContractChecker::add_existing_ids(std::span<const std::string> ids) {
  if (!state_->track_ids) return;
  for (const auto& id : ids) state_->known_ids.insert(id_hash(id));
}

std::vector<Finding> ContractChecker::finish() const {
  const State& s = *state_;
  FindingMap all = s.findings;
  for (const auto& [name, cs] : s.collections) {
    if (!cs.seen) note(all, name, kMissingCollection, "", "", "");
  }
  // Dangling references, grouped by (collection, key), samples in stream order.
  std::vector<std::vector<const PendingRef*>> dangling(s.ref_groups.size());
  for (const auto& [key, ref] : s.pending) {
    if (!s.known_ids.contains(key.target)) dangling[key.group].push_back(&ref);
  }
  for (std::size_t g = 0; g < dangling.size(); ++g) {
    auto& refs = dangling[g];
    if (refs.empty()) continue;
    std::sort(refs.begin(), refs.end(),
              [](const PendingRef* a, const PendingRef* b) { return a->order < b->order; });
    Finding& f =
        note(all, s.ref_groups[g].first, kDanglingReference, s.ref_groups[g].second, "", "");
    for (const PendingRef* ref : refs) {
      f.count += ref->count;
      if (f.sample_ids.size() < kMaxSamples) {
        f.sample_ids.push_back(ref->first_id);
        f.sample_values.push_back(render_value(MetaValue(ref->value)));
      }
    }
  }
  std::vector<Finding> out;
  out.reserve(all.size());
  for (auto& [key, finding] : all) out.push_back(std::move(finding));
  return out;
}

}  // namespace cm::contracts
