// The ContractChecker's state, shared by contract_check.cpp (collections, aggregation, finish) and
// contract_check_record.cpp (per-record checks). Not part of the public API.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "contracts/contract_internal.hpp"

namespace cm::contracts::detail {

// The report order within a collection; also the rank used in the aggregation key.
inline constexpr const char* kKindOrder[] = {
    kind::kMissingCollection,   kind::kUnexpectedCollection,
    kind::kWrongDimension,      kind::kWrongSpace,
    kind::kWrongEmbeddingModel, kind::kNonFiniteEmbedding,
    kind::kMissingKey,          kind::kWrongType,
    kind::kEnumViolation,       kind::kRangeViolation,
    kind::kPatternViolation,    kind::kExtraKey,
    kind::kDanglingReference};
enum Rank : int {
  kMissingCollection,
  kUnexpectedCollection,
  kWrongDimension,
  kWrongSpace,
  kWrongEmbeddingModel,
  kNonFiniteEmbedding,
  kMissingKey,
  kWrongType,
  kEnumViolation,
  kRangeViolation,
  kPatternViolation,
  kExtraKey,
  kDanglingReference
};

using AggKey = std::tuple<std::string, int, std::string, std::string, std::string>;
using FindingMap = std::map<AggKey, Finding>;

// MetaValue's alternatives are in ValueType order (string, int, float, bool).
inline std::size_t variant_index(ValueType type) {
  return static_cast<std::size_t>(type);
}

// One rule as it applies to one collection, with its report texts computed once.
struct RuleRef {
  const std::string* key;
  const FieldRule* rule;
  std::string enum_text, range_text;
  std::uint32_t ref_group;  // index into State::ref_groups when rule->references_ids
};

struct CollectionState {
  const CollectionExpectation* expectation;
  std::vector<RuleRef> rules;  // sorted by key, like Metadata, for a merge walk
  std::string dimension_text;
  bool seen = false;
};

// A reference not yet resolved when it was seen: kept until finish() decides whether it dangles.
struct PendingKey {
  std::uint32_t group;
  IdHash target;
  bool operator==(const PendingKey&) const = default;
};
struct PendingKeyHasher {
  std::size_t operator()(const PendingKey& k) const noexcept {
    return IdHashHasher{}(k.target) ^ (std::size_t{k.group} * 0x9E3779B97F4A7C15ULL);
  }
};
struct PendingRef {
  std::uint64_t count = 0;
  std::uint64_t order = 0;  // first-seen order, so samples follow the stream
  std::string first_id, value;
};

// The finding for this aggregation key, created empty (count 0) when new.
Finding& note(FindingMap& findings, std::string_view collection, Rank rank, std::string_view key,
              std::string_view expected, std::string_view actual);
// Counts one more affected record and keeps it as a sample while fewer than kMaxSamples are kept.
void add_sample(Finding& f, const std::string& id, const MetaValue* value);

}  // namespace cm::contracts::detail

namespace cm::contracts {

struct ContractChecker::State {
  using CollectionState = detail::CollectionState;
  using RuleRef = detail::RuleRef;

  Contract contract;
  std::map<std::string, CollectionState, std::less<>> collections;
  detail::FindingMap findings;
  bool track_ids = false;  // only a contract with references needs the id set
  IdHashSet known_ids;
  std::unordered_map<detail::PendingKey, detail::PendingRef, detail::PendingKeyHasher> pending;
  std::uint64_t pending_order = 0;
  std::vector<std::pair<std::string, std::string>> ref_groups;  // (collection, key)

  void check_embedding(const std::string& collection, const CollectionState& cs, const Record& r);
  void check_fields(const std::string& collection, const CollectionState& cs, const Record& r);
  void check_value(const std::string& collection, const RuleRef& ref, const Record& r,
                   const MetaValue& value);
};

}  // namespace cm::contracts
