// Helpers shared by the contract's parser, checker and renderer. Not part of the public API.
#pragma once

#include <string>
#include <vector>

#include "contracts/contract.hpp"

namespace cm::contracts::detail {

// Exact three-way comparison of two numbers that may each be an int64 or a finite double (no
// rounding of large ints through double). Returns <0, 0, >0.
int compare_numbers(const Bound& a, const Bound& b);

// "3" for an int bound, "1.0" / "0.5" for a float bound (the float keeps its '.').
std::string bound_text(const Bound& bound);

// "0 <= value <= 10000", "value >= 0", "value <= 1.0"; "" when the rule has no range.
std::string range_text(const FieldRule& rule);

// The enum as compact JSON: ["en","de"]; "" when the rule has no enum.
std::string enum_text(const FieldRule& rule);

// The type name of a metadata value: "string" | "int" | "float" | "bool".

// Parses one entry of the contract's "fields" object; `where` is "fields.<key>" for messages.
// `collection_names` are the contract's collections (a rule's "collections" must name them).
Result<FieldRule> parse_field_rule(const nlohmann::json& json, const std::string& origin,
                                   const std::string& where,
                                   const std::vector<std::string>& collection_names);

// Fails with "<origin>: <where>: <what>" as kInvalidArgument.
std::unexpected<Error> contract_error(const std::string& origin, const std::string& where,
                                      const std::string& what);

// Fails on the first key of `object` not in `allowed`, naming it and listing the allowed keys.
Status check_known_keys(const nlohmann::json& object, const std::vector<std::string>& allowed,
                        const std::string& origin, const std::string& where_prefix);

}  // namespace cm::contracts::detail
