// Test 3's value comparison (validate/checks/metadata_values.hpp): floats bitwise, except the
// target's documented rounding bound (1 ulp on a Chroma HTTP server, 0 elsewhere).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "validate/checks/metadata_values.hpp"

namespace cm::validate {
namespace {

MetaValue d(double v) {
  return MetaValue{v};
}

TEST(ValidateMetadataValues, OneUlpIsServerRoundingOnlyOnARoundingTarget) {
  const double x = 0.1;
  const double up = std::nextafter(x, 1.0), down = std::nextafter(x, 0.0);
  EXPECT_EQ(compare_metadata_value(d(x), d(x), 1), ValueMatch::kEqual);
  EXPECT_EQ(compare_metadata_value(d(x), d(up), 1), ValueMatch::kServerRounding);
  EXPECT_EQ(compare_metadata_value(d(x), d(down), 1), ValueMatch::kServerRounding);
  EXPECT_EQ(compare_metadata_value(d(x), d(up), 0), ValueMatch::kChanged);  // snapshot target
  EXPECT_EQ(compare_metadata_value(d(x), d(std::nextafter(up, 1.0)), 1), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(d(x), d(0.2), 1), ValueMatch::kChanged);
  // Across an exponent boundary the ulp is still one step of the representation.
  EXPECT_EQ(compare_metadata_value(d(1.0), d(std::nextafter(1.0, 0.0)), 1),
            ValueMatch::kServerRounding);
  EXPECT_EQ(compare_metadata_value(d(-2.5), d(std::nextafter(-2.5, -3.0)), 1),
            ValueMatch::kServerRounding);
}

TEST(ValidateMetadataValues, FloatsCompareBitwiseAndSignsNeverRound) {
  EXPECT_EQ(compare_metadata_value(d(-0.0), d(-0.0), 1), ValueMatch::kEqual);
  // A Chroma server stores -0.0 as 0.0: its normalisation, not a fault; never the other way.
  EXPECT_EQ(compare_metadata_value(d(-0.0), d(0.0), 1), ValueMatch::kServerZeroSign);
  EXPECT_EQ(compare_metadata_value(d(0.0), d(-0.0), 1), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(d(-0.0), d(0.0), 0), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(d(0.0), d(-0.0), 0), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(d(-0.0), d(std::numeric_limits<double>::denorm_min()), 1),
            ValueMatch::kChanged);
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(compare_metadata_value(d(tiny), d(-tiny), 1), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(d(0.0), d(tiny), 1), ValueMatch::kServerRounding);
  EXPECT_EQ(compare_metadata_value(d(std::numeric_limits<double>::max()),
                                   d(std::numeric_limits<double>::infinity()), 1),
            ValueMatch::kChanged);
}

TEST(ValidateMetadataValues, TypesNeverRound) {
  EXPECT_EQ(compare_metadata_value(MetaValue{std::int64_t{3}}, d(3.0), 1), ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(MetaValue{std::string("3")}, MetaValue{std::int64_t{3}}, 1),
            ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(MetaValue{true}, MetaValue{true}, 1), ValueMatch::kEqual);
  EXPECT_EQ(compare_metadata_value(MetaValue{std::string("a")}, MetaValue{std::string("b")}, 1),
            ValueMatch::kChanged);
  EXPECT_EQ(compare_metadata_value(MetaValue{std::int64_t{3}}, MetaValue{std::int64_t{4}}, 1),
            ValueMatch::kChanged);
}

}  // namespace
}  // namespace cm::validate
