// Section parsers shared by mapping_parse.cpp (document, targets, routes, unmatched) and
// mapping_parse_fields.cpp (fields, id_template). Internal to the mapping engine.
#pragma once

#include "contracts/mapping.hpp"
#include "contracts/mapping_json.hpp"

namespace cm::contracts::detail {

// "fields": fills mapping->fields, consumed_keys and owned_keys.
Status parse_fields(const Checker& check, const json& fields, Mapping* mapping);
// "id_template": fills mapping->id_template and id_parts.
Status parse_id_template(const Checker& check, const json& value, Mapping* mapping);

}  // namespace cm::contracts::detail
