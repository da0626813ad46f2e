// Validation helpers for the mapping parser (internal). Every failure names its JSON place, e.g.
// `mapping.json: routes[2].where.lang: unknown predicate "equals" (known: eq, in, prefix, exists)`.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm::contracts::detail {

using nlohmann::json;

// The JSON place of a child: `place.key` for plain keys, `place["a b"]` otherwise, `place[3]`.
std::string child(const std::string& place, const std::string& key);
std::string element(const std::string& place, std::size_t index);

// "object", "array", "string", "integer", "float", "boolean" or "null".
std::string json_kind(const json& value);

// Why `key` cannot be a Chroma metadata key (empty, starts with '#' or '$'); nullopt when it can.
std::optional<std::string> invalid_metadata_key_reason(const std::string& key);
// Stricter, for keys the migration writes: also refuses Chroma's hidden "chroma:" keys.
std::optional<std::string> invalid_written_key_reason(const std::string& key);

// `text` as a JSON string literal ("a \"b\""), for messages; invalid UTF-8 is replaced, not
// refused.
std::string quoted(const std::string& text);

// "a, b, c" from a list of names.
std::string join(std::initializer_list<std::string_view> names);

class Checker {
 public:
  explicit Checker(std::string origin) : origin_(std::move(origin)) {}

  // kInvalidArgument "origin: place: what" ("origin: what" at the root, place "").
  std::unexpected<Error> fail(const std::string& place, const std::string& what) const;

  Status object(const json& value, const std::string& place) const;
  Status array(const json& value, const std::string& place) const;
  Status string(const json& value, const std::string& place) const;
  Status boolean(const json& value, const std::string& place) const;
  // Refuses keys of `value` (an object) that are not in `known`.
  Status known_keys(const json& value, const std::string& place,
                    std::initializer_list<std::string_view> known) const;
  // The index of the string value in `names`; fails naming the known values.
  Result<std::size_t> one_of(const json& value, const std::string& place,
                             std::initializer_list<std::string_view> names) const;
  // A typed metadata value: string, integer (int64), float or boolean.
  Result<MetaValue> meta_value(const json& value, const std::string& place) const;
  // The key must exist in `value` (an object).
  Status required(const json& value, const std::string& place, const char* key) const;

 private:
  std::string origin_;
};

}  // namespace cm::contracts::detail
