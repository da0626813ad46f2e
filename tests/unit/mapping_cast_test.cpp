// The cast rules of contracts/README.md ("Casts"), case by case.
#include "contracts/mapping_cast.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace cm::contracts {
namespace {

MetaValue s(const char* text) {
  return std::string(text);
}
MetaValue i(std::int64_t v) {
  return v;
}

struct Case {
  MetaValue in;
  CastType to;
  std::optional<MetaValue> out;  // nullopt: the cast must fail
};

void check(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    auto r = cast_meta_value(c.in, c.to);
    const std::string what = describe_meta_value(c.in) + " -> " + cast_type_name(c.to);
    if (c.out) {
      ASSERT_TRUE(r) << what << ": " << r.error();
      EXPECT_EQ(*r, *c.out) << what << " gave " << describe_meta_value(*r);
    } else {
      EXPECT_FALSE(r) << what << " gave " << describe_meta_value(*r);
    }
  }
}

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t k2p53 = std::int64_t{1} << 53;

TEST(MappingCastTest, IdentityKeepsTheValue) {
  check({{s("x"), CastType::kString, s("x")},
         {i(3), CastType::kInt, i(3)},
         {2.5, CastType::kFloat, 2.5},
         {true, CastType::kBool, true}});
}

TEST(MappingCastTest, IntToFloatOnlyWhenExact) {
  check({{i(5), CastType::kFloat, 5.0},
         {i(-7), CastType::kFloat, -7.0},
         {i(k2p53), CastType::kFloat, 9007199254740992.0},
         {i(k2p53 + 1), CastType::kFloat, {}},
         {i(kMax), CastType::kFloat, {}},
         {i(kMin), CastType::kFloat, -9223372036854775808.0}});
}

TEST(MappingCastTest, FloatToIntOnlyWhenIntegralAndInRange) {
  check({{3.0, CastType::kInt, i(3)},
         {-0.0, CastType::kInt, i(0)},
         {-2.0, CastType::kInt, i(-2)},
         {3.5, CastType::kInt, {}},
         {1e19, CastType::kInt, {}},
         {9223372036854775808.0, CastType::kInt, {}},
         {-9223372036854775808.0, CastType::kInt, i(kMin)},
         {9007199254740992.0, CastType::kInt, i(k2p53)}});
}

TEST(MappingCastTest, StringToNumbersByFullParse) {
  check({{s("42"), CastType::kInt, i(42)},
         {s("-0"), CastType::kInt, i(0)},
         {s("9223372036854775807"), CastType::kInt, i(kMax)},
         {s("12abc"), CastType::kInt, {}},
         {s(""), CastType::kInt, {}},
         {s(" 1"), CastType::kInt, {}},
         {s("+1"), CastType::kInt, {}},
         {s("1.0"), CastType::kInt, {}},
         {s("9223372036854775808"), CastType::kInt, {}},
         {s("1.5"), CastType::kFloat, 1.5},
         {s("1e3"), CastType::kFloat, 1000.0},
         {s("7"), CastType::kFloat, 7.0},
         {s("0.1"), CastType::kFloat, 0.1},
         {s("abc"), CastType::kFloat, {}},
         {s("1.5x"), CastType::kFloat, {}},
         {s("inf"), CastType::kFloat, {}},
         {s("nan"), CastType::kFloat, {}},
         {s("1e400"), CastType::kFloat, {}},
         {s(""), CastType::kFloat, {}}});
}

TEST(MappingCastTest, Booleans) {
  check({{true, CastType::kInt, i(1)},
         {false, CastType::kInt, i(0)},
         {true, CastType::kFloat, 1.0},
         {false, CastType::kFloat, 0.0},
         {i(0), CastType::kBool, false},
         {i(1), CastType::kBool, true},
         {i(2), CastType::kBool, {}},
         {i(-1), CastType::kBool, {}},
         {1.0, CastType::kBool, true},
         {0.0, CastType::kBool, false},
         {0.5, CastType::kBool, {}},
         {s("true"), CastType::kBool, true},
         {s("false"), CastType::kBool, false},
         {s("True"), CastType::kBool, {}},
         {s("1"), CastType::kBool, {}}});
}

TEST(MappingCastTest, AnythingToString) {
  check({{i(42), CastType::kString, s("42")},
         {i(kMin), CastType::kString, s("-9223372036854775808")},
         {0.1, CastType::kString, s("0.1")},
         {1.0, CastType::kString, s("1")},
         {1e21, CastType::kString, s("1e+21")},
         {-2.5e-7, CastType::kString, s("-2.5e-07")},
         {true, CastType::kString, s("true")},
         {false, CastType::kString, s("false")}});
  // Shortest round trip: parsing the text gives the same double back.
  for (double d : {0.1 + 0.2, 1.0 / 3.0, 123456.789, 5e-324}) {
    auto text = cast_meta_value(d, CastType::kString);
    ASSERT_TRUE(text);
    EXPECT_EQ(cast_meta_value(*text, CastType::kFloat).value(), MetaValue{d});
  }
}

TEST(MappingCastTest, FailureReasons) {
  EXPECT_EQ(cast_meta_value(s("12abc"), CastType::kInt).error(), "not a decimal integer");
  EXPECT_EQ(cast_meta_value(3.5, CastType::kInt).error(), "not an integral value");
  EXPECT_EQ(cast_meta_value(i(k2p53 + 1), CastType::kFloat).error(),
            "not exactly representable as a float");
  EXPECT_EQ(describe_meta_value(s("a\"b")), "\"a\\\"b\" (string)");
  EXPECT_EQ(describe_meta_value(2.0), "2 (float)");
}

}  // namespace
}  // namespace cm::contracts
