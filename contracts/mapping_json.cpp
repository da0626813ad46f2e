#include "contracts/mapping_json.hpp"

#include <cmath>
#include <cstdint>

namespace cm::contracts::detail {
namespace {

bool plain_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string quoted(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string child(const std::string& place, const std::string& key) {
  if (plain_key(key)) return place.empty() ? key : place + "." + key;
  return place + "[" + quoted(key) + "]";
}

std::string element(const std::string& place, std::size_t index) {
  return place + "[" + std::to_string(index) + "]";
}

std::string json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "float";
    default:
      return "null";
  }
}

std::optional<std::string> invalid_metadata_key_reason(const std::string& key) {
  if (key.empty()) return "metadata keys must not be empty";
  if (key.front() == '#' || key.front() == '$') {
    return "metadata key " + quoted(key) + " must not start with '#' or '$'";
  }
  return std::nullopt;
}

std::optional<std::string> invalid_written_key_reason(const std::string& key) {
  if (auto why = invalid_metadata_key_reason(key)) return why;
  // Chroma stores "chroma:*" keys but hides them (the document itself is "chroma:document").
  if (key.starts_with("chroma:")) return "metadata key " + quoted(key) + " is reserved by Chroma";
  return std::nullopt;
}

std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::unexpected<Error> Checker::fail(const std::string& place, const std::string& what) const {
  return make_error(ErrorCode::kInvalidArgument,
                    origin_ + ": " + (place.empty() ? what : place + ": " + what));
}

Status Checker::object(const json& value, const std::string& place) const {
  if (value.is_object()) return ok_status();
  return fail(place, "expected an object, got " + json_kind(value));
}

Status Checker::array(const json& value, const std::string& place) const {
  if (value.is_array()) return ok_status();
  return fail(place, "expected an array, got " + json_kind(value));
}

Status Checker::string(const json& value, const std::string& place) const {
  if (value.is_string()) return ok_status();
  return fail(place, "expected a string, got " + json_kind(value));
}

Status Checker::boolean(const json& value, const std::string& place) const {
  if (value.is_boolean()) return ok_status();
  return fail(place, "expected a boolean, got " + json_kind(value));
}

Status Checker::known_keys(const json& value, const std::string& place,
                           std::initializer_list<std::string_view> known) const {
  for (const auto& item : value.items()) {
    bool found = false;
    for (auto k : known) found = found || k == item.key();
    if (!found) {
      return fail(place, "unknown key " + quoted(item.key()) + " (known: " + join(known) + ")");
    }
  }
  return ok_status();
}

Result<std::size_t> Checker::one_of(const json& value, const std::string& place,
                                    std::initializer_list<std::string_view> names) const {
  CM_RETURN_IF_ERROR(string(value, place));
  const auto& text = value.get_ref<const std::string&>();
  std::size_t i = 0;
  for (auto name : names) {
    if (name == text) return i;
    ++i;
  }
  return fail(place, "unknown value " + quoted(text) + " (known: " + join(names) + ")");
}

Result<MetaValue> Checker::meta_value(const json& value, const std::string& place) const {
  if (value.is_string()) return MetaValue{value.get<std::string>()};
  if (value.is_boolean()) return MetaValue{value.get<bool>()};
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return fail(place, "integer " + value.dump() + " is beyond the 64-bit signed range");
    }
    return MetaValue{value.get<std::int64_t>()};
  }
  if (value.is_number_integer()) return MetaValue{value.get<std::int64_t>()};
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d)) return fail(place, "float " + value.dump() + " is not finite");
    return MetaValue{d};
  }
  return fail(place, "expected a string, integer, float or boolean, got " + json_kind(value));
}

Status Checker::required(const json& value, const std::string& place, const char* key) const {
  if (value.contains(key)) return ok_status();
  return fail(place, std::string("missing required key \"") + key + "\"");
}

}  // namespace cm::contracts::detail
