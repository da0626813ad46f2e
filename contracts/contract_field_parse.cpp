// Parsing and validating one entry of a contract's "fields" object.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "contracts/contract_internal.hpp"

namespace cm::contracts::detail {
namespace {

using nlohmann::json;

const std::vector<std::string> kRuleKeys = {"type",       "required",    "enum",
                                            "min",        "max",         "pattern",
                                            "references", "collections", "description"};

bool is_int64(const json& j) {
  return j.is_number_integer() &&
         !(j.is_number_unsigned() &&
           j.get<std::uint64_t>() >
               static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
}

// A JSON value as a metadata value of `type`, or nullopt when it is not of that type. A float field
// accepts a JSON integer (0 and 0.0 mean the same bound or enum entry to whoever writes the file);
// an int field does not accept 3.0.
std::optional<MetaValue> value_of_type(const json& j, ValueType type) {
  switch (type) {
    case ValueType::kString:
      if (j.is_string()) return MetaValue(j.get<std::string>());
      break;
    case ValueType::kInt:
      if (is_int64(j)) return MetaValue(j.get<std::int64_t>());
      break;
    case ValueType::kFloat:
      if (j.is_number()) return MetaValue(j.get<double>());
      break;
    case ValueType::kBool:
      if (j.is_boolean()) return MetaValue(j.get<bool>());
      break;
  }
  return std::nullopt;
}

Result<Bound> parse_bound(const json& j, const std::string& origin, const std::string& where) {
  if (is_int64(j)) return Bound(j.get<std::int64_t>());
  if (j.is_number_float()) return Bound(j.get<double>());
  if (j.is_number()) return contract_error(origin, where, "integer out of 64-bit range");
  return contract_error(origin, where, "must be a number");
}

Status parse_collections_filter(const json& j, const std::string& origin, const std::string& where,
                                const std::vector<std::string>& names, FieldRule& rule) {
  if (!j.is_array() || j.empty()) {
    return contract_error(origin, where, "must be a non-empty array of collection names");
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!j[i].is_string()) return contract_error(origin, at, "must be a string");
    auto name = j[i].get<std::string>();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return contract_error(origin, at,
                            "\"" + name + "\" is not one of the contract's \"collections\"");
    }
    rule.collections.push_back(std::move(name));
  }
  return ok_status();
}

Status parse_pattern(const json& j, const std::string& origin, const std::string& where,
                     FieldRule& rule) {
  if (rule.type != ValueType::kString) {
    return contract_error(origin, where, "only string fields can have a pattern");
  }
  if (!j.is_string() || j.get<std::string>().empty()) {
    return contract_error(origin, where, "must be a non-empty string");
  }
  rule.pattern = j.get<std::string>();
  try {
    rule.pattern_regex = std::make_shared<const std::regex>(rule.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return contract_error(
        origin, where, std::string("not a valid ECMAScript regular expression (") + e.what() + ")");
  }
  return ok_status();
}

}  // namespace

Result<FieldRule> parse_field_rule(const json& j, const std::string& origin,
                                   const std::string& where,
                                   const std::vector<std::string>& collection_names) {
  if (!j.is_object()) return contract_error(origin, where, "must be an object");
  CM_RETURN_IF_ERROR(check_known_keys(j, kRuleKeys, origin, where + "."));
  FieldRule rule;

  if (!j.contains("type")) {
    return contract_error(origin, where + ".type", "missing (one of string, int, float, bool)");
  }
  const auto& type = j["type"];
  auto parsed_type =
      type.is_string() ? value_type_from_name(type.get<std::string>()) : std::nullopt;
  if (!parsed_type) {
    return contract_error(origin, where + ".type", "must be one of string, int, float, bool");
  }
  rule.type = *parsed_type;
  const std::string type_name = value_type_name(rule.type);

  if (j.contains("required")) {
    if (!j["required"].is_boolean()) {
      return contract_error(origin, where + ".required", "must be true or false");
    }
    rule.required = j["required"].get<bool>();
  }
  if (j.contains("description") && !j["description"].is_string()) {
    return contract_error(origin, where + ".description", "must be a string");
  }

  if (j.contains("enum")) {
    const auto& values = j["enum"];
    if (!values.is_array() || values.empty()) {
      return contract_error(origin, where + ".enum", "must be a non-empty array");
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto value = value_of_type(values[i], rule.type);
      if (!value) {
        return contract_error(
            origin, where + ".enum[" + std::to_string(i) + "]",
            std::string(rule.type == ValueType::kInt ? "must be an " : "must be a ") + type_name +
                " (the field's type)");
      }
      rule.enum_values.push_back(std::move(*value));
    }
  }

  for (const char* which : {"min", "max"}) {
    if (!j.contains(which)) continue;
    const std::string at = where + "." + which;
    if (rule.type != ValueType::kInt && rule.type != ValueType::kFloat) {
      return contract_error(origin, at, "only int and float fields can have a range");
    }
    CM_ASSIGN_OR_RETURN(Bound bound, parse_bound(j[which], origin, at));
    (std::string_view(which) == "min" ? rule.min : rule.max) = bound;
  }
  if (rule.min && rule.max && compare_numbers(*rule.min, *rule.max) > 0) {
    return contract_error(origin, where, "min is greater than max");
  }

  if (j.contains("pattern")) {
    CM_RETURN_IF_ERROR(parse_pattern(j["pattern"], origin, where + ".pattern", rule));
  }

  if (j.contains("references")) {
    const auto& ref = j["references"];
    if (!ref.is_string() || ref.get<std::string>() != "id") {
      return contract_error(origin, where + ".references", "must be \"id\" (the only target)");
    }
    if (rule.type != ValueType::kString) {
      return contract_error(origin, where + ".references",
                            "only string fields can reference record ids");
    }
    rule.references_ids = true;
  }

  if (j.contains("collections")) {
    CM_RETURN_IF_ERROR(parse_collections_filter(j["collections"], origin, where + ".collections",
                                                collection_names, rule));
  }
  return rule;
}

}  // namespace cm::contracts::detail
