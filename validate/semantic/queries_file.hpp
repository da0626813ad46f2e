// The queries file of chroma-validate's semantic-search test (--queries; format and an example in
// queries/README.md):
//
//   {"description": "...",                      (optional)
//    "queries": [
//      {"name": "...", "collection": "<source collection>", "k": 10, "embedding": [floats]},
//      {"name": "...", "collection": "<source collection>", "record_id": "<id>"}]}
//
// Each query names a source collection and exactly one of `embedding` (the query vector itself)
// or `record_id` (a record of that collection in the export snapshot whose vector is the query).
// `k` (1..1000) and `name` are optional: k defaults to --top-k, the name to the record id or to
// "queries[i]". Names are unique. Unknown keys are errors, so a typo cannot silently drop a
// query. Embedding values are read as JSON numbers and rounded to float32; they must be finite.
//
// Whether the collection and the record exist, and whether the embedding has the collection's
// dimension, is judged by the check (a finding), not here: the file is valid on its own.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::validate {

struct QuerySpec {
  std::string name;
  std::string collection;
  std::optional<std::size_t> k;          // nullopt: --top-k
  std::vector<float> embedding;          // empty when record_id is set
  std::optional<std::string> record_id;  // set: the embedding comes from this record
};

inline constexpr std::size_t kMaxQueryK = 1000;

// Validates a parsed document; every message starts with `origin` and names the JSON place
// ("queries.json: queries[2].embedding[5]: must be a finite number"). kInvalidArgument.
Result<std::vector<QuerySpec>> parse_queries(const nlohmann::json& document,
                                             const std::string& origin);
// Reads and validates a file: kNotFound / kIo when unreadable, kInvalidArgument when the text is
// not JSON or not valid (messages start with the file name).
Result<std::vector<QuerySpec>> load_queries(const std::filesystem::path& file);

}  // namespace cm::validate
