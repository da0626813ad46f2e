// Migration contracts: what the target must look like after a migration (collections, distance
// space, embedding dimension and model, typed metadata fields, citation references). chroma-migrate
// checks a contract before any write (on the transformed records and existing target collections)
// and after the import (on what landed); chroma-validate reuses the same checker. The file format
// is documented in contracts/README.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm::contracts {

// The metadata types are kept strictly apart, as Chroma stores them: an int is not a float (3 does
// not satisfy a float field, 3.0 does not satisfy an int field) and a bool is not an int.
using cm::ValueType;  // the four metadata types (common/store/record.hpp)

// A numeric bound exactly as the contract wrote it: an integer bound stays an int64 so that int
// fields beyond 2^53 compare exactly.
using Bound = std::variant<std::int64_t, double>;

struct FieldRule {
  ValueType type = ValueType::kString;
  bool required = false;               // the key must be present (Chroma has no null values)
  std::vector<MetaValue> enum_values;  // empty: any value; otherwise every entry is of `type`
  std::optional<Bound> min, max;       // inclusive; only for int and float fields
  std::string pattern;                 // ECMAScript, full match; "" = none; string fields only
  std::shared_ptr<const std::regex> pattern_regex;  // compiled once at load; null without pattern
  // The value must be the id of a record in the target (any collection). "" means "no reference"
  // and is accepted: Chroma ids are never empty, and a mapping may default a citation to "".
  bool references_ids = false;
  std::vector<std::string> collections;  // empty: every collection of the contract

  bool applies_to(std::string_view collection) const;
};

// Settings one target collection must have. nullopt: the contract does not constrain it.
struct CollectionExpectation {
  std::string name;
  std::optional<int> dimension;
  std::optional<std::string> space;  // l2 | cosine | ip
  // The value collection metadata key Contract::embedding_model_key must hold.
  std::optional<std::string> embedding_model;
};

struct Contract {
  std::string version;                             // "2.0"
  std::vector<CollectionExpectation> collections;  // sorted by name, defaults already applied
  std::map<std::string, FieldRule> fields;         // metadata key -> rule
  std::string embedding_model_key = "embedding_model";
  bool allow_extra_fields = true;
  nlohmann::json source;  // the contract as loaded, for run manifests and reports

  const CollectionExpectation* find_collection(std::string_view name) const;
};

// Reads and validates a contract file (JSON; // and /* */ comments allowed). Every error is
// kInvalidArgument (kNotFound/kIo for an unreadable file) and names the place, e.g.
// "contract.json: fields.chunk_no.min: must be a number". Unknown keys are errors.
Result<Contract> load_contract(const std::filesystem::path& path);
// The same for an already parsed document; `origin` prefixes every message.
Result<Contract> parse_contract(const nlohmann::json& document, const std::string& origin);

// Finding kinds, in the order findings are reported within a collection.
namespace kind {
inline constexpr const char* kMissingCollection = "missing_collection";
inline constexpr const char* kUnexpectedCollection = "unexpected_collection";
inline constexpr const char* kWrongDimension = "wrong_dimension";
inline constexpr const char* kWrongSpace = "wrong_space";
inline constexpr const char* kWrongEmbeddingModel = "wrong_embedding_model";
inline constexpr const char* kNonFiniteEmbedding = "non_finite_embedding";
inline constexpr const char* kMissingKey = "missing_key";
inline constexpr const char* kWrongType = "wrong_type";
inline constexpr const char* kEnumViolation = "enum_violation";
inline constexpr const char* kRangeViolation = "range_violation";
inline constexpr const char* kPatternViolation = "pattern_violation";
inline constexpr const char* kExtraKey = "extra_key";
inline constexpr const char* kDanglingReference = "dangling_reference";
}  // namespace kind

inline constexpr std::size_t kMaxSamples = 5;

// One group of violations: all records of `collection` that break the same rule the same way.
struct Finding {
  std::string kind;  // one of the kind:: constants
  std::string collection;
  // The metadata key; for wrong_embedding_model the collection metadata key holding the model;
  // "" for the other collection-level findings.
  std::string key;
  // What the contract wants and what was found: "int" / "string" (wrong_type), "cosine" / "l2"
  // (wrong_space), "384" / "768" (wrong_dimension), "all-MiniLM-L6-v2" / "(absent)"
  // (wrong_embedding_model); for value findings `expected` describes the rule (`["en","de"]`,
  // "0 <= value <= 10000", the pattern) and `actual` is "" (the values are in sample_values).
  std::string expected, actual;
  std::uint64_t count = 0;  // records affected; 0 for findings about collection settings only
  std::vector<std::string> sample_ids;     // the first kMaxSamples records affected, stream order
  std::vector<std::string> sample_values;  // the offending values (JSON), parallel to sample_ids;
                                           // empty for kinds without a value (missing_key, ...)
  bool operator==(const Finding&) const = default;
};

// Checks records and collections against a contract as they stream past. Memory is O(number of
// distinct findings) plus, only when the contract has `references` fields, a 128-bit hash per
// distinct record id and the referencing id and value of each reference not yet resolved when it
// was seen. Not thread-safe: the caller serialises calls. A moved-from checker may only be
// destroyed or assigned to.
class ContractChecker {
 public:
  explicit ContractChecker(const Contract& contract);
  ~ContractChecker();
  ContractChecker(ContractChecker&&) noexcept;
  ContractChecker& operator=(ContractChecker&&) noexcept;

  // Collection-level: existence and settings. `space` "" and `dimension` nullopt mean unknown (an
  // empty collection has no dimension yet) and are not checked. `metadata` is the collection's
  // metadata, read for the embedding model key.
  void check_collection(const std::string& name, const std::string& space,
                        std::optional<int> dimension, const Metadata& metadata);
  // One record of `collection`: embedding dimension and finiteness, then every field rule that
  // applies. Records of a collection the contract does not list only count towards its
  // unexpected_collection finding (and are valid reference targets).
  void check_record(const std::string& collection, const Record& record);
  // Ids that exist in the target but are not streamed through check_record (e.g. records already
  // in a merged collection): valid reference targets.
  void add_existing_ids(std::span<const std::string> ids);
  // Call after every check_* call. Adds missing_collection for contract collections never seen and
  // dangling_reference for references no record resolved. Sorted by collection, then kind (in the
  // kind:: order), key, expected, actual. Empty when the target satisfies the contract.
  std::vector<Finding> finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A readable, actionable report: one line per finding, each ending in '\n'. For example:
//   kb_en: key "chunk_no": wrong type, expected int, found string in 1,204 records (e.g. a = "3")
//   support_v2: space is l2, contract says cosine: recreate the collection with space cosine or
//     fix the contract
// (the second is one line). contracts/README.md shows every kind.
std::string render_findings(const std::vector<Finding>& findings);
nlohmann::json findings_to_json(const std::vector<Finding>& findings);

// A metadata value as compact JSON ("x", 3, 3.0, true); invalid UTF-8 is replaced, never thrown.
std::string render_value(const MetaValue& value);

}  // namespace cm::contracts
