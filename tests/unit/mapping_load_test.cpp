// load_mapping (file errors, comments, duplicate keys), defaults of a minimal mapping, and
// mapping_hash.
#include "contracts/mapping.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tests/unit/mapping_test_util.hpp"

namespace cm::contracts {
namespace {

using mapping_test::minimal;
using mapping_test::with;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(MappingParseTest, MinimalMappingLoadsWithDefaults) {
  auto m = parse_mapping(minimal(), "mapping.json");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->routes.size(), 1u);
  EXPECT_EQ(m->routes[0].label, "route[0]");
  EXPECT_EQ(m->unmatched.kind, UnmatchedPolicy::Kind::kError);
  EXPECT_EQ(m->on_cast_failure, Mapping::OnCastFailure::kFail);
  EXPECT_EQ(m->unmapped_keys, Mapping::UnmappedKeys::kKeep);
  EXPECT_FALSE(m->id_template);
}

class MappingFileTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mapping_parse_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(MappingFileTest, FileErrors) {
  auto missing = load_mapping(dir_ / "absent.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto bad = load_mapping(write("bad.json", "{\"mapping_version\": 1,"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message, HasSubstr("bad.json: not valid JSON: parse error at line 1"));
  auto dup = load_mapping(write("dup.json", R"({"mapping_version": 1, "targets": {"kb_new": {}},
      "routes": [{"from": ["kb_old"], "to": "kb_new", "to": "kb_new"}]})"));
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup.error().message, HasSubstr("dup.json: key \"to\" appears twice in one object"));
}

TEST_F(MappingFileTest, CommentsAllowedAndErrorsNameTheFile) {
  auto ok = load_mapping(write("ok.json", "// the demo\n" + minimal().dump() + " /* end */"));
  ASSERT_TRUE(ok) << ok.error().message;
  auto path = write("mapping.json", with("/routes/0/to", "nowhere").dump());
  auto bad = load_mapping(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind(path.string() + ": routes[0].to: ", 0), 0u)
      << bad.error().message;
}

TEST(MappingHashTest, StableAcrossKeyOrderAndFormatting) {
  auto a = parse_mapping(
      json::parse(
          R"({"mapping_version":1,"targets":{"kb_new":{"space":"l2","hnsw":{"ef_search":50}}},
      "routes":[{"to":"kb_new","from":["kb_old"]}]})"),
      "a");
  auto b = parse_mapping(json::parse(R"({ "routes": [ {"from": ["kb_old"], "to": "kb_new"} ],
      "targets": {"kb_new": {"hnsw": {"ef_search": 50}, "space": "l2"}}, "mapping_version": 1 })"),
                         "b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(mapping_hash(*a), mapping_hash(*b));
  EXPECT_EQ(mapping_hash(*a).size(), 16u);
  EXPECT_EQ(mapping_hash(*a).find_first_not_of("0123456789abcdef"), std::string::npos);
  auto c = parse_mapping(with("/routes/0/from", {"kb_other"}), "c");
  ASSERT_TRUE(c);
  EXPECT_NE(mapping_hash(*a), mapping_hash(*c));
}

}  // namespace
}  // namespace cm::contracts
