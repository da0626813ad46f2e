#include "common/store/record.hpp"

#include <cctype>
#include <regex>

namespace cm {

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kInt:
      return "int";
    case ValueType::kFloat:
      return "float";
    case ValueType::kBool:
      return "bool";
  }
  return "?";
}

std::optional<ValueType> value_type_from_name(std::string_view name) {
  for (auto type : {ValueType::kString, ValueType::kInt, ValueType::kFloat, ValueType::kBool}) {
    if (name == value_type_name(type)) return type;
  }
  return std::nullopt;
}

nlohmann::json metadata_to_json(const Metadata& metadata) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : metadata) {
    std::visit([&, k = &key](const auto& v) { out[*k] = v; }, value);
  }
  return out;
}

std::optional<Metadata> metadata_from_json(const nlohmann::json& json, std::string* why) {
  Metadata out;
  if (json.is_null()) return out;
  if (!json.is_object()) {
    if (why) *why = "metadata must be an object";
    return std::nullopt;
  }
  for (const auto& [key, value] : json.items()) {
    if (value.is_string()) {
      out.emplace(key, value.get<std::string>());
    } else if (value.is_boolean()) {
      out.emplace(key, value.get<bool>());
    } else if (value.is_number_integer()) {
      if (value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX) {
        if (why) *why = "metadata key '" + key + "' holds an integer beyond 64-bit signed range";
        return std::nullopt;
      }
      out.emplace(key, value.get<std::int64_t>());
    } else if (value.is_number_float()) {
      out.emplace(key, value.get<double>());
    } else {
      if (why)
        *why = "metadata key '" + key + "' holds a " + value.type_name() +
               " (only string, int, float and bool are supported)";
      return std::nullopt;
    }
  }
  return out;
}

nlohmann::json hnsw_to_json(const HnswConfig& h) {
  return {{"space", h.space},
          {"ef_construction", h.ef_construction},
          {"ef_search", h.ef_search},
          {"max_neighbors", h.max_neighbors},
          {"resize_factor", h.resize_factor},
          {"sync_threshold", h.sync_threshold}};
}

HnswConfig hnsw_from_json(const nlohmann::json& j) {
  HnswConfig h;
  if (!j.is_object()) return h;
  h.space = j.value("space", h.space);
  h.ef_construction = j.value("ef_construction", h.ef_construction);
  h.ef_search = j.value("ef_search", h.ef_search);
  h.max_neighbors = j.value("max_neighbors", h.max_neighbors);
  h.resize_factor = j.value("resize_factor", h.resize_factor);
  h.sync_threshold = j.value("sync_threshold", h.sync_threshold);
  return h;
}

std::optional<std::string> invalid_collection_name_reason(const std::string& name) {
  if (name.size() < 3 || name.size() > 512) return "must be 3 to 512 characters long";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return "may contain only letters, digits, '.', '_' and '-'";
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::isalnum(static_cast<unsigned char>(name.back()))) {
    return "must start and end with a letter or digit";
  }
  if (name.find("..") != std::string::npos) return "must not contain '..'";
  static const std::regex ipv4(R"(^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$)");
  if (std::regex_match(name, ipv4)) return "must not be an IPv4 address";
  return std::nullopt;
}

}  // namespace cm
