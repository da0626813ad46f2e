// docs/exit-codes.md and common/cli/exit_codes.hpp must say the same thing.
#include "common/cli/exit_codes.hpp"
#include "validate/verdict.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace cm {
namespace {

// The rows `| N | name |` of one table: the first (chroma-migrate, the shared codes) ends where
// the heading "## chroma-validate" starts the second.
std::map<int, std::string> documented_codes(bool validate_table = false) {
  std::ifstream in(std::string(CM_SOURCE_DIR) + "/docs/exit-codes.md");
  std::stringstream text;
  text << in.rdbuf();
  std::map<int, std::string> out;
  static const std::regex row(R"(\|\s*(\d+)\s*\|\s*([a-z-]+)\s*\|)");
  std::string s = text.str();
  const auto split = s.find("\n## chroma-validate");
  s = validate_table ? (split == std::string::npos ? "" : s.substr(split)) : s.substr(0, split);
  for (std::sregex_iterator it(s.begin(), s.end(), row), end; it != end; ++it) {
    out[std::stoi((*it)[1])] = (*it)[2];
  }
  return out;
}

TEST(ExitCodesTest, DocumentationListsEveryCode) {
  const std::map<int, std::string> code_side = {{kExitOk, "ok"},
                                                {kExitUsage, "usage"},
                                                {kExitConfigMismatch, "config-mismatch"},
                                                {kExitUnavailable, "unavailable"},
                                                {kExitRejected, "rejected"},
                                                {kExitVerifyFailed, "verify-failed"},
                                                {kExitCorruption, "corruption"},
                                                {kExitIo, "io"},
                                                {kExitConflict, "conflict"},
                                                {kExitInternal, "internal"},
                                                {kExitContractViolation, "contract-violation"},
                                                {kExitRefused, "refused"},
                                                {kExitInterrupted, "interrupted"}};
  EXPECT_EQ(documented_codes(), code_side);
}

TEST(ExitCodesTest, ValidateTableListsTheVerdictCodes) {
  const std::map<int, std::string> code_side = {
      {validate::kValidateExitPassed, "passed"},
      {validate::kValidateExitWarning, "warning"},
      {validate::kValidateExitFailed, "failed"},
      {validate::kValidateExitCouldNotRun, "could-not-run"}};
  EXPECT_EQ(documented_codes(true), code_side);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kPassed),
            validate::kValidateExitPassed);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kWarning),
            validate::kValidateExitWarning);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kFailed),
            validate::kValidateExitFailed);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kError),
            validate::kValidateExitFailed);
}

TEST(ExitCodesTest, EveryErrorCodeMapsToADocumentedExit) {
  const auto documented = documented_codes();
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    Error e{static_cast<ErrorCode>(c), "x"};
    const int code = exit_code_for(e);
    EXPECT_NE(code, 0) << error_code_name(e.code);
    EXPECT_TRUE(documented.contains(code)) << error_code_name(e.code) << " -> " << code;
  }
  EXPECT_EQ(exit_code_for({ErrorCode::kTransient, ""}), kExitUnavailable);
  EXPECT_EQ(exit_code_for({ErrorCode::kRejected, ""}), kExitRejected);
  EXPECT_EQ(exit_code_for({ErrorCode::kConfigMismatch, ""}), kExitConfigMismatch);
}

}  // namespace
}  // namespace cm
