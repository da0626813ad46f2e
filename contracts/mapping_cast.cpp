#include "contracts/mapping_cast.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

#include <nlohmann/json.hpp>

#include "contracts/mapping_json.hpp"

namespace cm::contracts {
namespace {

// 2^63: the first double beyond int64. Doubles below it and >= -2^63 convert to int64 exactly
// when integral.
constexpr double kTwo63 = 9223372036854775808.0;

using CastResult = std::expected<MetaValue, std::string>;

CastResult fail(std::string why) {
  return std::unexpected(std::move(why));
}

CastResult from_string(const std::string& s, ValueType to) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  switch (to) {
    case ValueType::kString:
      return MetaValue{s};
    case ValueType::kInt: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(begin, end, v);
      if (ec == std::errc::result_out_of_range) return fail("out of the 64-bit integer range");
      if (ec != std::errc() || ptr != end || s.empty()) return fail("not a decimal integer");
      return MetaValue{v};
    }
    case ValueType::kFloat: {
      double v = 0;
      auto [ptr, ec] = std::from_chars(begin, end, v, std::chars_format::general);
      if (ec == std::errc::result_out_of_range) return fail("out of the float range");
      if (ec != std::errc() || ptr != end || s.empty()) return fail("not a decimal number");
      // from_chars accepts "inf" and "nan"; Chroma metadata cannot hold them.
      if (!std::isfinite(v)) return fail("not a finite number");
      return MetaValue{v};
    }
    case ValueType::kBool:
      if (s == "true") return MetaValue{true};
      if (s == "false") return MetaValue{false};
      return fail("only \"true\" and \"false\" convert to bool");
  }
  return fail("unknown cast");
}

CastResult from_int(std::int64_t i, ValueType to) {
  switch (to) {
    case ValueType::kString:
      return MetaValue{std::to_string(i)};
    case ValueType::kInt:
      return MetaValue{i};
    case ValueType::kFloat: {
      const double d = static_cast<double>(i);
      // Beyond 2^53 not every integer has a double; refuse rather than round.
      if (d >= kTwo63 || static_cast<std::int64_t>(d) != i) {
        return fail("not exactly representable as a float");
      }
      return MetaValue{d};
    }
    case ValueType::kBool:
      if (i == 0) return MetaValue{false};
      if (i == 1) return MetaValue{true};
      return fail("only 0 and 1 convert to bool");
  }
  return fail("unknown cast");
}

CastResult from_float(double d, ValueType to) {
  switch (to) {
    case ValueType::kString:
      return MetaValue{meta_value_to_string(MetaValue{d})};
    case ValueType::kInt:
      if (!std::isfinite(d) || std::trunc(d) != d) return fail("not an integral value");
      if (d < -kTwo63 || d >= kTwo63) return fail("out of the 64-bit integer range");
      return MetaValue{static_cast<std::int64_t>(d)};
    case ValueType::kFloat:
      return MetaValue{d};
    case ValueType::kBool:
      if (d == 0.0) return MetaValue{false};
      if (d == 1.0) return MetaValue{true};
      return fail("only 0.0 and 1.0 convert to bool");
  }
  return fail("unknown cast");
}

CastResult from_bool(bool b, ValueType to) {
  switch (to) {
    case ValueType::kString:
      return MetaValue{std::string(b ? "true" : "false")};
    case ValueType::kInt:
      return MetaValue{std::int64_t{b ? 1 : 0}};
    case ValueType::kFloat:
      return MetaValue{b ? 1.0 : 0.0};
    case ValueType::kBool:
      return MetaValue{b};
  }
  return fail("unknown cast");
}

}  // namespace

std::expected<MetaValue, std::string> cast_meta_value(const MetaValue& value, ValueType to) {
  if (const auto* s = std::get_if<std::string>(&value)) return from_string(*s, to);
  if (const auto* i = std::get_if<std::int64_t>(&value)) return from_int(*i, to);
  if (const auto* d = std::get_if<double>(&value)) return from_float(*d, to);
  return from_bool(std::get<bool>(value), to);
}

std::string meta_value_to_string(const MetaValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, *d);  // shortest round-trip form
    return ec == std::errc() ? std::string(buf, ptr) : std::string("nan");
  }
  return std::get<bool>(value) ? "true" : "false";
}

bool meta_value_has_type(const MetaValue& value, ValueType type) {
  switch (type) {
    case ValueType::kString:
      return std::holds_alternative<std::string>(value);
    case ValueType::kInt:
      return std::holds_alternative<std::int64_t>(value);
    case ValueType::kFloat:
      return std::holds_alternative<double>(value);
    case ValueType::kBool:
      return std::holds_alternative<bool>(value);
  }
  return false;
}

std::string describe_meta_value(const MetaValue& value) {
  std::string text;
  if (const auto* s = std::get_if<std::string>(&value)) {
    text = detail::quoted(*s);  // replaces invalid UTF-8 instead of throwing: only a message
  } else {
    text = meta_value_to_string(value);
  }
  return text + " (" + value_type_name(value) + ")";
}

}  // namespace cm::contracts
