// The declarative mapping (transform) engine: a JSON mapping file says which source collection's
// records go to which target collection (routes with metadata predicates) and how their metadata
// is rewritten (field rules: copy/rename, cast, default, constant, computed). contracts/README.md
// documents the file format with examples; this header states the engine's contracts.
//
// Guarantees:
// - load_mapping/parse_mapping validate the whole file up front and fail with kInvalidArgument and
// a
//   message naming the JSON place ("mapping.json: routes[2].where.lang: unknown predicate ...").
//   A Mapping that loaded is internally consistent: every route and the unmatched policy lead to a
//   declared target, every target key is written by exactly one rule, every key name is valid.
// - transform_record is a pure function of (mapping, source collection, record, context): no clock,
//   no randomness, metadata is an ordered map. Embedding and document pass through unchanged; the
//   metadata it produces never holds nulls or non-finite floats, so it is valid for Chroma.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm::contracts {

// Resolved per target collection from the mapping's "targets" section.
struct TargetSettings {
  std::string name;
  std::optional<std::string> space;  // nullopt: inherit from the first source routed here
  // Subset of ef_construction, ef_search, max_neighbors, resize_factor, sync_threshold.
  nlohmann::json hnsw_overrides = nlohmann::json::object();
  Metadata metadata;  // added to / overriding the inherited collection metadata
  // configuration.embedding_function for the target (an object, or null for none); nullopt:
  // inherited, and then every source routed here must agree on it.
  std::optional<nlohmann::json> embedding_function{};
};

using cm::ValueType;  // the four metadata types (common/store/record.hpp)
enum class ComputeKind {
  kDocumentLength,    // int: Unicode code points of the document (0 for a null document)
  kDocumentBytes,     // int: UTF-8 bytes of the document (0 for a null document)
  kContentHash,       // string: 16 hex chars XXH3-64 of the document bytes; "" for a null document
  kSourceId,          // string: the record's id before id_template
  kSourceCollection,  // string: the collection the record was read from
  kRunId,             // string: TransformContext::run_id
  kMigrationTimestamp,  // string: TransformContext::migration_timestamp
};

struct Predicate {
  enum class Op { kEq, kIn, kPrefix, kExists };
  std::string key;
  Op op = Op::kEq;
  std::vector<MetaValue> values;  // kEq: exactly one; kIn: the candidates (typed comparison)
  std::string prefix;             // kPrefix
  bool exists = true;             // kExists
};

struct Route {
  std::string label;              // the route's "name", or "route[i]" when unnamed
  std::vector<std::string> from;  // source collections, non-empty
  std::vector<Predicate> where;   // ANDed; empty: every record of those collections matches
  std::string to;                 // a declared target
};

struct UnmatchedPolicy {
  enum class Kind { kError, kSkip, kRoute };
  Kind kind = Kind::kError;
  std::string to;  // kRoute: a declared target
};

struct MappingFieldRule {
  enum class Kind { kCopy, kConst, kCompute };
  Kind kind = Kind::kCopy;
  std::string to;                                // target metadata key, unique across rules
  std::string from;                              // kCopy: source metadata key
  std::optional<ValueType> cast;                 // kCopy only
  std::optional<MetaValue> default_value;        // kCopy only: written as is when `from` is absent
  MetaValue constant;                            // kConst
  ComputeKind compute = ComputeKind::kSourceId;  // kCompute
};

// One piece of a parsed id_template: literal text or a placeholder.
struct IdTemplatePart {
  enum class Kind { kLiteral, kId, kSourceCollection, kMeta };
  Kind kind = Kind::kLiteral;
  std::string text;  // kLiteral: the text; kMeta: the source metadata key
};

struct Mapping {
  std::string origin;  // where it came from (file name), prefixes messages
  std::string description;
  std::map<std::string, TargetSettings> targets;
  std::vector<Route> routes;  // first match wins
  UnmatchedPolicy unmatched;
  std::vector<MappingFieldRule> fields;  // applied in order
  enum class OnCastFailure { kFail, kSkipRecord } on_cast_failure = OnCastFailure::kFail;
  enum class UnmappedKeys { kDrop, kKeep } unmapped_keys = UnmappedKeys::kKeep;
  std::optional<std::string> id_template;  // as written; nullopt: ids unchanged
  std::vector<IdTemplatePart> id_parts;

  // Derived at parse time.
  std::set<std::string> consumed_keys;  // every copy rule's "from": never kept as unmapped
  std::set<std::string> owned_keys;     // every rule's "to": never filled from unmapped keys
  nlohmann::json canonical;             // the parsed file (objects key-sorted), for hashing/reports
};

// Reads and validates a mapping file. The file is JSON; // and /* */ comments are allowed.
// kNotFound when the file does not exist, kIo when it cannot be read, kInvalidArgument for any
// syntax or validation problem (messages start with the file name).
Result<Mapping> load_mapping(const std::filesystem::path& file);
// Validates an already parsed document; `origin` prefixes every message.
Result<Mapping> parse_mapping(const nlohmann::json& json, const std::string& origin);

// 16 lowercase hex chars: XXH3-64 of the canonical JSON (key order and whitespace do not matter;
// every other change, the description included, does).
std::string mapping_hash(const Mapping& mapping);

// Source collections the mapping reads (union of every route's "from"), sorted, no duplicates.
std::vector<std::string> mapped_source_collections(const Mapping& mapping);

// How each declared target collection is created, sorted by name. A target inherits space, HNSW
// parameters, configuration and metadata from the FIRST source collection (routes in order, each
// route's "from" in order, then sources whose records can fall through to "unmatched") that routes
// there and exists in `sources`; then the mapping's space/hnsw/metadata overrides apply. Inherited
// legacy "hnsw:*" metadata keys are dropped (the spec's hnsw carries the parameters).
// Errors: kNotFound when a target gets no existing source collection and declares no space;
// kInvalidArgument when a target's existing sources disagree on the space, or on
// configuration.embedding_function, and it declares none.
Result<std::vector<CollectionSpec>> plan_target_collections(
    const Mapping& mapping, const std::vector<CollectionInfo>& sources);

// Fixed per run, so the transform stays deterministic (no clock reads inside).
struct TransformContext {
  std::string run_id;
  std::string migration_timestamp;
};

struct Transformed {
  enum class Outcome { kRouted, kSkippedUnmatched, kSkippedCastFailure };
  Outcome outcome = Outcome::kRouted;
  std::string target;   // kRouted / kSkippedCastFailure: the matched route's target; else ""
  std::string route;    // route label, or "unmatched"
  Record record;        // kRouted: the target record; skips: the source record unchanged
  std::string problem;  // skips: what happened (record id, key, value, target type)
};

// Routes and rewrites one record. Errors (kInvalidArgument, message names the record id, key, value
// and target type) when on_cast_failure is "fail" and a cast fails or id_template cannot be
// rendered, when "unmatched" is "error" and no route matches, when `source_collection` is not read
// by the mapping, and when a rule computes run_id/migration_timestamp but the context leaves it
// empty.
Result<Transformed> transform_record(const Mapping& mapping, const std::string& source_collection,
                                     const Record& record, const TransformContext& context);

// The schema change for dry-run plans: per target key where it comes from ("copy of source key
// \"lang\"", "const 2 (int)", "computed document_length", ...), the source keys read, what happens
// to the others, the id rule, routes and the unmatched policy.
nlohmann::json describe_schema_change(const Mapping& mapping);

const char* compute_name(ComputeKind kind);

}  // namespace cm::contracts
