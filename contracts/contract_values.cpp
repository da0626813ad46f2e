// Numbers, bounds and metadata values as the contract compares and prints them.
#include <cmath>

#include "contracts/contract_internal.hpp"

namespace cm::contracts {
namespace {

// Dumps without throwing on invalid UTF-8: a report must never fail because of the data it reports.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// int64 vs finite double without converting the int to double (which rounds beyond 2^53).
int compare_int_double(std::int64_t a, double b) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (b >= kTwo63) return -1;
  if (b < -kTwo63) return 1;
  const double floor_b = std::floor(b);
  const auto int_b = static_cast<std::int64_t>(floor_b);  // exact: floor_b is in [-2^63, 2^63)
  if (a != int_b) return a < int_b ? -1 : 1;
  return floor_b < b ? -1 : 0;
}

}  // namespace

std::string render_value(const MetaValue& value) {
  // JSON has no NaN or infinity (nlohmann would print null, hiding the problem being reported).
  if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
    return std::isnan(*d) ? "NaN" : (*d > 0 ? "Infinity" : "-Infinity");
  }
  return std::visit([](const auto& v) { return dump(nlohmann::json(v)); }, value);
}

namespace detail {

int compare_numbers(const Bound& a, const Bound& b) {
  if (const auto* ai = std::get_if<std::int64_t>(&a)) {
    if (const auto* bi = std::get_if<std::int64_t>(&b)) return *ai < *bi ? -1 : (*ai > *bi ? 1 : 0);
    return compare_int_double(*ai, std::get<double>(b));
  }
  const double ad = std::get<double>(a);
  if (const auto* bi = std::get_if<std::int64_t>(&b)) return -compare_int_double(*bi, ad);
  const double bd = std::get<double>(b);
  return ad < bd ? -1 : (ad > bd ? 1 : 0);
}

std::string bound_text(const Bound& bound) {
  return std::visit([](const auto& v) { return dump(nlohmann::json(v)); }, bound);
}

std::string range_text(const FieldRule& rule) {
  if (rule.min && rule.max) return bound_text(*rule.min) + " <= value <= " + bound_text(*rule.max);
  if (rule.min) return "value >= " + bound_text(*rule.min);
  if (rule.max) return "value <= " + bound_text(*rule.max);
  return "";
}

std::string enum_text(const FieldRule& rule) {
  if (rule.enum_values.empty()) return "";
  std::string out = "[";
  for (std::size_t i = 0; i < rule.enum_values.size(); ++i) {
    if (i > 0) out += ',';
    out += render_value(rule.enum_values[i]);
  }
  return out + "]";
}

}  // namespace detail
}  // namespace cm::contracts
