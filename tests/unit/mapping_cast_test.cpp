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
  ValueType to;
  std::optional<MetaValue> out;  // nullopt: the cast must fail
};

void check(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    auto r = cast_meta_value(c.in, c.to);
    const std::string what = describe_meta_value(c.in) + " -> " + value_type_name(c.to);
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
  check({{s("x"), ValueType::kString, s("x")},
         {i(3), ValueType::kInt, i(3)},
         {2.5, ValueType::kFloat, 2.5},
         {true, ValueType::kBool, true}});
}

TEST(MappingCastTest, IntToFloatOnlyWhenExact) {
  check({{i(5), ValueType::kFloat, 5.0},
         {i(-7), ValueType::kFloat, -7.0},
         {i(k2p53), ValueType::kFloat, 9007199254740992.0},
         {i(k2p53 + 1), ValueType::kFloat, {}},
         {i(kMax), ValueType::kFloat, {}},
         {i(kMin), ValueType::kFloat, -9223372036854775808.0}});
}

TEST(MappingCastTest, FloatToIntOnlyWhenIntegralAndInRange) {
  check({{3.0, ValueType::kInt, i(3)},
         {-0.0, ValueType::kInt, i(0)},
         {-2.0, ValueType::kInt, i(-2)},
         {3.5, ValueType::kInt, {}},
         {1e19, ValueType::kInt, {}},
         {9223372036854775808.0, ValueType::kInt, {}},
         {-9223372036854775808.0, ValueType::kInt, i(kMin)},
         {9007199254740992.0, ValueType::kInt, i(k2p53)}});
}

TEST(MappingCastTest, StringToNumbersByFullParse) {
  check({{s("42"), ValueType::kInt, i(42)},
         {s("-0"), ValueType::kInt, i(0)},
         {s("9223372036854775807"), ValueType::kInt, i(kMax)},
         {s("12abc"), ValueType::kInt, {}},
         {s(""), ValueType::kInt, {}},
         {s(" 1"), ValueType::kInt, {}},
         {s("+1"), ValueType::kInt, {}},
         {s("1.0"), ValueType::kInt, {}},
         {s("9223372036854775808"), ValueType::kInt, {}},
         {s("1.5"), ValueType::kFloat, 1.5},
         {s("1e3"), ValueType::kFloat, 1000.0},
         {s("7"), ValueType::kFloat, 7.0},
         {s("0.1"), ValueType::kFloat, 0.1},
         {s("abc"), ValueType::kFloat, {}},
         {s("1.5x"), ValueType::kFloat, {}},
         {s("inf"), ValueType::kFloat, {}},
         {s("nan"), ValueType::kFloat, {}},
         {s("1e400"), ValueType::kFloat, {}},
         {s(""), ValueType::kFloat, {}}});
}

TEST(MappingCastTest, Booleans) {
  check({{true, ValueType::kInt, i(1)},
         {false, ValueType::kInt, i(0)},
         {true, ValueType::kFloat, 1.0},
         {false, ValueType::kFloat, 0.0},
         {i(0), ValueType::kBool, false},
         {i(1), ValueType::kBool, true},
         {i(2), ValueType::kBool, {}},
         {i(-1), ValueType::kBool, {}},
         {1.0, ValueType::kBool, true},
         {0.0, ValueType::kBool, false},
         {0.5, ValueType::kBool, {}},
         {s("true"), ValueType::kBool, true},
         {s("false"), ValueType::kBool, false},
         {s("True"), ValueType::kBool, {}},
         {s("1"), ValueType::kBool, {}}});
}

TEST(MappingCastTest, AnythingToString) {
  check({{i(42), ValueType::kString, s("42")},
         {i(kMin), ValueType::kString, s("-9223372036854775808")},
         {0.1, ValueType::kString, s("0.1")},
         {1.0, ValueType::kString, s("1")},
         {1e21, ValueType::kString, s("1e+21")},
         {-2.5e-7, ValueType::kString, s("-2.5e-07")},
         {true, ValueType::kString, s("true")},
         {false, ValueType::kString, s("false")}});
  // Shortest round trip: parsing the text gives the same double back.
  for (double d : {0.1 + 0.2, 1.0 / 3.0, 123456.789, 5e-324}) {
    auto text = cast_meta_value(d, ValueType::kString);
    ASSERT_TRUE(text);
    EXPECT_EQ(cast_meta_value(*text, ValueType::kFloat).value(), MetaValue{d});
  }
}

TEST(MappingCastTest, FailureReasons) {
  EXPECT_EQ(cast_meta_value(s("12abc"), ValueType::kInt).error(), "not a decimal integer");
  EXPECT_EQ(cast_meta_value(3.5, ValueType::kInt).error(), "not an integral value");
  EXPECT_EQ(cast_meta_value(i(k2p53 + 1), ValueType::kFloat).error(),
            "not exactly representable as a float");
  EXPECT_EQ(describe_meta_value(s("a\"b")), "\"a\\\"b\" (string)");
  EXPECT_EQ(describe_meta_value(2.0), "2 (float)");
}

}  // namespace
}  // namespace cm::contracts
