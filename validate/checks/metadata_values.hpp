// How test 3 (metadata completeness) compares one metadata value with the expected one. Pure, so
// unit tests pin it (tests/unit/validate_metadata_values_test.cpp).
//
// Strings, ints and bools compare by value; a different type is always a change (3, 3.0, true and
// "3" all differ). Floats compare BITWISE: -0.0 is not 0.0 and any other bit is a change; with one
// exception, on targets known to round metadata floats (`rounding_ulps` > 0: a Chroma HTTP server,
// whose 1.0.x JSON parser is not correctly rounded and stores about 11% of random doubles 1 ulp
// away, never more: docs/chroma-facts), a finite value that differs by at most `rounding_ulps`
// units in the last place and has the same sign is the server's rounding, reported with counts but
// not a migration fault. The same server also stores -0.0 as 0.0 (SQLite keeps no negative zero;
// checked on 1.0.5): on such a target, expected -0.0 read back as 0.0 is the server's
// normalisation, reported apart; 0.0 read back as -0.0 is a change. Any other sign change, a
// change of more than `rounding_ulps` ulps, or any change on a target that does not round (a
// snapshot directory) is a change.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "common/store/record.hpp"

namespace cm::validate {

enum class ValueMatch {
  kEqual,           // same type, same value (floats: same bits)
  kServerRounding,  // floats within the target's documented rounding bound
  kServerZeroSign,  // -0.0 stored as 0.0 by a server that keeps no negative zero
  kChanged,         // anything else, including a type change
};

// Units in the last place between two finite doubles of the same sign (0 when their bits are
// equal). Callers check the sign first: across zero the distance is not a rounding.
inline std::uint64_t ulp_distance(double a, double b) {
  const auto ia = std::bit_cast<std::uint64_t>(a) & 0x7fffffffffffffffULL;
  const auto ib = std::bit_cast<std::uint64_t>(b) & 0x7fffffffffffffffULL;
  return ia > ib ? ia - ib : ib - ia;
}

inline ValueMatch compare_metadata_value(const MetaValue& want, const MetaValue& got,
                                         std::uint64_t rounding_ulps) {
  if (want.index() != got.index()) return ValueMatch::kChanged;
  const auto* w = std::get_if<double>(&want);
  if (!w) return want == got ? ValueMatch::kEqual : ValueMatch::kChanged;
  const double g = std::get<double>(got);
  if (std::bit_cast<std::uint64_t>(*w) == std::bit_cast<std::uint64_t>(g))
    return ValueMatch::kEqual;
  if (rounding_ulps == 0 || !std::isfinite(*w) || !std::isfinite(g)) return ValueMatch::kChanged;
  if (*w == 0.0 && g == 0.0 && std::signbit(*w) && !std::signbit(g)) {
    return ValueMatch::kServerZeroSign;
  }
  if (std::signbit(*w) != std::signbit(g)) return ValueMatch::kChanged;
  return ulp_distance(*w, g) <= rounding_ulps ? ValueMatch::kServerRounding : ValueMatch::kChanged;
}

}  // namespace cm::validate
