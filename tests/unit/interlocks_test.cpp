// The safety interlocks (common/run/interlocks.hpp): a working target needs the exact
// confirmation, a "test" run pointed at a store the targets file lists as working is refused, a
// dry run needs neither, and a malformed targets file is an input error.
#include "common/run/interlocks.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

StoreUri uri(const std::string& text) {
  auto parsed = parse_store_uri(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : StoreUri{};
}

class InterlocksTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("interlocks"); }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path targets(const std::string& content) {
    auto path = dir_ / ("targets-" + std::to_string(++files_) + ".json");
    std::ofstream(path) << content;
    return path;
  }
  static InterlockInput input(const std::string& target, const std::string& env = "") {
    InterlockInput in;
    auto kind = parse_target_env(env);
    EXPECT_TRUE(kind) << kind.error().message;
    if (kind) in.target_env = *kind;
    in.target = uri(target);
    return in;
  }

  fs::path dir_;
  int files_ = 0;
};

TEST_F(InterlocksTest, AnUnlabelledRunIsATestRunAndMayWrite) {
  auto d = check_interlocks(input("http://localhost:8000"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->target_kind, TargetKind::kTest);
  EXPECT_FALSE(d->listed_as_working);
}

TEST_F(InterlocksTest, AWorkingTargetNeedsTheExactConfirmation) {
  auto in = input("http://prod.example:8000", "working");
  auto missing = check_interlocks(in);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kRefused);
  EXPECT_NE(missing.error().message.find("not set"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find(kWorkingConfirmation), std::string::npos);

  for (const char* wrong :
       {"", "yes", "i_acknowledge_working_mutation", "I_ACKNOWLEDGE_WORKING_MUTATION "}) {
    in.confirmation = wrong;
    auto refused = check_interlocks(in);
    ASSERT_FALSE(refused) << "'" << wrong << "'";
    EXPECT_EQ(refused.error().code, ErrorCode::kRefused);
    EXPECT_NE(refused.error().message.find("not the expected value"), std::string::npos);
  }

  in.confirmation = kWorkingConfirmation;
  auto allowed = check_interlocks(in);
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_EQ(allowed->target_kind, TargetKind::kWorking);
}

TEST_F(InterlocksTest, ADryRunOfAWorkingTargetNeedsNoConfirmation) {
  auto in = input("http://prod.example:8000", "working");
  in.dry_run = true;
  auto d = check_interlocks(in);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->target_kind, TargetKind::kWorking);
}

TEST_F(InterlocksTest, AnUnknownTargetEnvIsAnInputError) {
  auto d = parse_target_env("production");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find("'production'"), std::string::npos);
}

TEST_F(InterlocksTest, ATestRunAtAListedWorkingServerIsRefused) {
  auto file = targets(R"({"working": ["http://Prod.Example:8000"], "test": []})");
  for (const char* target : {"http://prod.example:8000", "http://prod.example:8000?database=other",
                             "http://user:secret@prod.example:8000"}) {
    SCOPED_TRACE(target);
    auto in = input(target);
    in.targets_file = file;
    auto d = check_interlocks(in);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, ErrorCode::kRefused);
    EXPECT_NE(d.error().message.find("listed as working"), std::string::npos);
    EXPECT_EQ(d.error().message.find("secret"), std::string::npos);  // credentials redacted
  }
  // Another port, another host: not listed.
  for (const char* target : {"http://prod.example:8001", "http://staging.example:8000"}) {
    auto in = input(target);
    in.targets_file = file;
    auto d = check_interlocks(in);
    ASSERT_TRUE(d) << target << ": " << d.error().message;
    EXPECT_FALSE(d->listed_as_working);
  }
}

TEST_F(InterlocksTest, AnEntryNamingADatabaseCoversOnlyThatDatabase) {
  auto file = targets(R"({"working": ["http://db.example:8000?database=live"]})");
  auto in = input("http://db.example:8000?database=live");
  in.targets_file = file;
  auto refused = check_interlocks(in);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRefused);

  in = input("http://db.example:8000?database=scratch");
  in.targets_file = file;
  auto allowed = check_interlocks(in);
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_FALSE(allowed->listed_as_working);
}

TEST_F(InterlocksTest, ListedSnapshotDirectoriesMatchByPath) {
  fs::create_directories(dir_ / "snaps" / "prod");
  auto file = targets(R"({"working": ["snapshot:)" + (dir_ / "snaps" / "prod").string() + "\"]}");
  auto in = input("snapshot:" + (dir_ / "snaps" / ".." / "snaps" / "prod").string());
  in.targets_file = file;
  auto refused = check_interlocks(in);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kRefused);
  in = input("snapshot:" + (dir_ / "snaps" / "other").string());
  in.targets_file = file;
  EXPECT_TRUE(check_interlocks(in));
}

TEST_F(InterlocksTest, AListedWorkingTargetWithConfirmationMayBeWritten) {
  auto in = input("http://prod.example:8000", "working");
  in.targets_file = targets(R"({"working": ["http://prod.example:8000"]})");
  in.confirmation = kWorkingConfirmation;
  auto d = check_interlocks(in);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->listed_as_working);
  EXPECT_EQ(d->target_kind, TargetKind::kWorking);
}

TEST_F(InterlocksTest, AMalformedTargetsFileIsAnInputErrorEvenForADryRun) {
  for (const char* bad : {"not json at all", "[]", R"({"test": []})",
                          R"({"working": "http://a:1"})", R"({"working": [42]})",
                          R"({"working": ["ftp://nope"]})", R"({"working": [], "prod": []})"}) {
    SCOPED_TRACE(bad);
    auto in = input("http://localhost:8000");
    in.targets_file = targets(bad);
    in.dry_run = true;
    auto d = check_interlocks(in);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message.find(in.targets_file.string()), std::string::npos)
        << d.error().message;
  }
}

TEST_F(InterlocksTest, AMissingTargetsFileIsRefusedAsBadInput) {
  auto in = input("http://localhost:8000");
  in.targets_file = dir_ / "no-such-targets.json";
  auto d = check_interlocks(in);
  ASSERT_FALSE(d);
  // Either code makes the binaries exit with "usage" (2).
  EXPECT_TRUE(d.error().code == ErrorCode::kInvalidArgument ||
              d.error().code == ErrorCode::kNotFound)
      << error_code_name(d.error().code);
  EXPECT_NE(d.error().message.find("no-such-targets.json"), std::string::npos);
}

}  // namespace
}  // namespace cm
