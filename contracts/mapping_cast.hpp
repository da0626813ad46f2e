// Typed metadata value casts and their textual forms (internal to the mapping engine; the rules are
// listed in contracts/README.md, "Casts"). Casts never lose information silently: a conversion that
// would round, truncate or reinterpret fails with a reason instead.
#pragma once

#include <expected>
#include <string>

#include "common/store/record.hpp"
#include "contracts/mapping.hpp"

namespace cm::contracts {

// The value converted to `to`, or why it cannot be (a short reason, no value in it).
std::expected<MetaValue, std::string> cast_meta_value(const MetaValue& value, ValueType to);

// The "anything -> string" rule: int in decimal, float in the shortest form that parses back to the
// same double (std::to_chars), bool as "true"/"false", strings unchanged.
std::string meta_value_to_string(const MetaValue& value);

// "string" | "int" | "float" | "bool".
bool meta_value_has_type(const MetaValue& value, ValueType type);

// For messages: strings JSON-quoted, the others as meta_value_to_string, then the type:
// "\"12abc\" (string)", "1.5 (float)".
std::string describe_meta_value(const MetaValue& value);

}  // namespace cm::contracts
