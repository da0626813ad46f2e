// docs/exit-codes.md and common/exit_codes.hpp must say the same thing.
#include "common/exit_codes.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace cm {
namespace {

std::map<int, std::string> documented_codes() {
  std::ifstream in(std::string(CM_SOURCE_DIR) + "/docs/exit-codes.md");
  std::stringstream text;
  text << in.rdbuf();
  std::map<int, std::string> out;
  static const std::regex row(R"(\|\s*(\d+)\s*\|\s*([a-z-]+)\s*\|)");
  std::string s = text.str();
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
