// Enums whose values are written as strings (run.json, rollback.json, command-line values): one
// table per enum holds the strings, and conversion happens at the JSON/CLI edge only. Inside the
// code the enum is compared, never the string.
//
//   template <>
//   struct EnumNames<Colour> {
//     static constexpr std::pair<Colour, const char*> kNames[] = {{Colour::kRed, "red"}, ...};
//   };
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm {

template <typename E>
struct EnumNames;  // specialised per enum, next to it

template <typename E>
const char* enum_name(E value) {
  for (const auto& [e, name] : EnumNames<E>::kNames) {
    if (e == value) return name;
  }
  return "?";
}

template <typename E>
std::optional<E> enum_from_name(std::string_view name) {
  for (const auto& [e, n] : EnumNames<E>::kNames) {
    if (name == n) return e;
  }
  return std::nullopt;
}

// "a, b, c" (an empty name shows as "").
template <typename E>
std::string enum_names_list() {
  std::string out;
  for (const auto& [e, n] : EnumNames<E>::kNames) {
    if (!out.empty()) out += ", ";
    out += *n ? std::string(n) : std::string("\"\"");
  }
  return out;
}

// A value read from a file: kCorruption naming the file and the field when it is not one of E's.
template <typename E>
Result<E> parse_enum(std::string_view name, const std::string& file, const std::string& field) {
  if (auto e = enum_from_name<E>(name)) return *e;
  return make_error(ErrorCode::kCorruption, file + ": " + field + ": unknown value \"" +
                                                std::string(name) + "\" (expected one of " +
                                                enum_names_list<E>() + ")");
}

}  // namespace cm

// nlohmann::json conversions for an enum with EnumNames, declared in the enum's namespace (for
// NLOHMANN_DEFINE_TYPE_* and get<E>()): written as its string; reading an unknown string throws
// json::other_error naming the type, which a document's from_json reports as kCorruption.
#define CM_JSON_ENUM(E)                                                                           \
  inline void to_json(nlohmann::json& j, E value) {                                               \
    j = ::cm::enum_name(value);                                                                   \
  }                                                                                               \
  inline void from_json(const nlohmann::json& j, E& value) {                                      \
    const auto name = j.get<std::string>();                                                       \
    const auto parsed = ::cm::enum_from_name<E>(name);                                            \
    if (!parsed) {                                                                                \
      throw nlohmann::json::other_error::create(                                                  \
          501,                                                                                    \
          "unknown " #E " \"" + name + "\" (expected one of " + ::cm::enum_names_list<E>() + ")", \
          &j);                                                                                    \
    }                                                                                             \
    value = *parsed;                                                                              \
  }
