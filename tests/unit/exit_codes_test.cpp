// docs/exit-codes.md, common/cli/exit_codes.hpp and scripts/cutover.sh must say the same thing:
// the binaries' shared table, chroma-validate's verdicts and the script's outcomes. The script's
// mapping from its steps' codes to its own is also run here against stub binaries (no servers).
#include "common/cli/exit_codes.hpp"
#include "validate/verdict.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/process.hpp"

namespace cm {
namespace {

std::string read_source(const std::string& path) {
  std::ifstream in(std::string(CM_SOURCE_DIR) + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The rows `| N | name |` of one table of docs/exit-codes.md: the shared one (before the first
// "## " heading) when `heading` is empty, else the one under "## <heading>" (up to the next "## ").
std::map<int, std::string> documented_codes(const std::string& heading = "") {
  std::string s = read_source("docs/exit-codes.md");
  if (heading.empty()) {
    s = s.substr(0, s.find("\n## "));
  } else {
    const auto start = s.find("\n## " + heading + "\n");
    if (start == std::string::npos) return {};
    const auto end = s.find("\n## ", start + 1);
    s = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  std::map<int, std::string> out;
  static const std::regex row(R"(\|\s*(\d+)\s*\|\s*([a-z-]+)\s*\|)");
  for (std::sregex_iterator it(s.begin(), s.end(), row), end; it != end; ++it) {
    out[std::stoi((*it)[1])] = (*it)[2];
  }
  return out;
}

// EXIT_HELD_FOR_REVIEW -> held-for-review
std::string outcome_name(std::string variable) {
  for (auto& c : variable) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return variable;
}

// The script's `readonly EXIT_<NAME>=<code>` lines, as code -> outcome name.
std::map<int, std::string> script_codes() {
  const std::string s = read_source("scripts/cutover.sh");
  std::map<int, std::string> out;
  static const std::regex line(R"((^|\n)readonly EXIT_([A-Z_]+)=(\d+)[ \t]*(?=\n|$))");
  for (std::sregex_iterator it(s.begin(), s.end(), line), end; it != end; ++it) {
    EXPECT_FALSE(out.contains(std::stoi((*it)[3]))) << "code defined twice: " << (*it)[3];
    out[std::stoi((*it)[3])] = outcome_name((*it)[2]);
  }
  return out;
}

const std::map<int, std::string>& script_side() {
  static const std::map<int, std::string> codes = {{kCutoverExitLive, "live"},
                                                   {kCutoverExitHeldForReview, "held-for-review"},
                                                   {kCutoverExitRolledBack, "rolled-back"},
                                                   {kCutoverExitRollbackFailed, "rollback-failed"},
                                                   {kCutoverExitStepFailed, "step-failed"},
                                                   {kCutoverExitUsage, "usage"},
                                                   {kCutoverExitInterrupted, "interrupted"}};
  return codes;
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
  const std::map<int, std::string> code_side = {{kValidateExitPassed, "passed"},
                                                {kValidateExitWarning, "warning"},
                                                {kValidateExitFailed, "failed"},
                                                {kValidateExitCouldNotRun, "could-not-run"}};
  EXPECT_EQ(documented_codes("chroma-validate"), code_side);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kPassed), kValidateExitPassed);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kWarning), kValidateExitWarning);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kFailed), kValidateExitFailed);
  EXPECT_EQ(validate::exit_code_for_status(validate::CheckStatus::kError), kValidateExitFailed);
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

// The script's EXIT_* variables, its table in the doc and kCutoverExit* are the same table.
TEST(ExitCodesTest, ScriptTableMatchesTheScriptAndTheHeader) {
  EXPECT_EQ(script_codes(), script_side());
  EXPECT_EQ(documented_codes("scripts/cutover.sh"), script_side());
  // The header comment lists the same codes ("#   N    meaning" in the "Exit status" block).
  const std::string s = read_source("scripts/cutover.sh");
  const auto from = s.find("# Exit status"), to = s.find("# Every outcome");
  ASSERT_TRUE(from != std::string::npos && to != std::string::npos && from < to);
  const auto block = s.substr(from, to - from);
  std::set<int> header;
  static const std::regex listed(R"(\n#\s+(\d+)\s{2,}\S)");
  for (std::sregex_iterator it(block.begin(), block.end(), listed), end; it != end; ++it) {
    header.insert(std::stoi((*it)[1]));
  }
  std::set<int> defined;
  for (const auto& [code, name] : script_side()) defined.insert(code);
  EXPECT_EQ(header, defined);
  EXPECT_NE(s.find(std::string("readonly STATUS_FILE=") + kCutoverStatusFile + "\n"),
            std::string::npos);
}

// The codes the script adds cannot be read as a step's own: neither the shared table nor the
// verdicts use them (130 is the one shared on purpose: interrupted, resumable, in both).
TEST(ExitCodesTest, ScriptOnlyCodesAreUnusedByTheBinaries) {
  const auto shared = documented_codes();
  const auto verdicts = documented_codes("chroma-validate");
  for (int code : {kCutoverExitStepFailed, kCutoverExitUsage}) {
    EXPECT_FALSE(shared.contains(code)) << code;
    EXPECT_FALSE(verdicts.contains(code)) << code;
  }
  EXPECT_EQ(kCutoverExitInterrupted, kExitInterrupted);
}

// No `exit N` with a literal number, and the one `exit` (in finish) exits with an EXIT_* code;
// every finish call names a defined code and, as the status file's outcome, that code's name.
TEST(ExitCodesTest, ScriptExitsOnlyThroughItsNamedCodes) {
  const std::string s = read_source("scripts/cutover.sh");
  const auto codes = script_codes();
  std::map<std::string, std::string> by_variable;  // HELD_FOR_REVIEW -> held-for-review
  for (const auto& [code, name] : codes) {
    std::string v = name;
    for (auto& c : v) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
    by_variable[v] = name;
  }
  std::istringstream lines(s);
  std::string line;
  int exits = 0, finishes = 0;
  // `exit` in command position (not "exited" or "(exit 3)" inside a message).
  static const std::regex exit_cmd(R"((^|[;&|{]|\bthen|\belse|\bdo)\s*exit\b(\s+([^\s;)]+))?)");
  static const std::regex finish_call(R"(\bfinish\s+"?\$\{?EXIT_([A-Z_]+)\}?"?\s+([a-z-]+))");
  for (int n = 1; std::getline(lines, line); ++n) {
    const auto code = line.substr(0, line.find(" #"));
    if (code.find_first_not_of(" \t") == std::string::npos ||
        code[code.find_first_not_of(" \t")] == '#') {
      continue;
    }
    for (std::sregex_iterator it(code.begin(), code.end(), exit_cmd), end; it != end; ++it) {
      ++exits;
      EXPECT_EQ((*it)[3], "\"$1\"") << "line " << n << ": exit only through finish(): " << line;
    }
    std::smatch m;
    if (std::regex_search(code, m, finish_call)) {
      ++finishes;
      ASSERT_TRUE(by_variable.contains(m[1])) << "line " << n << ": " << line;
      EXPECT_EQ(m[2], by_variable[m[1]]) << "line " << n << ": outcome name of EXIT_" << m[1];
    }
  }
  EXPECT_EQ(exits, 1);
  EXPECT_GE(finishes, 8);
}

// The script's mapping, end to end, with stub binaries that exit with the codes they are told:
// a step's own code never comes out as the script's, and the status file says what happened.
class CutoverScriptMapping : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("cutover_mapping_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "bin");
    // chroma-migrate (and --cutover, --sync), chroma-validate, chroma-rollback: exit
    // $STUB_<STEP>_RC; migrate creates the work dir, and with STUB_AUDIT=1 an audit.jsonl (it
    // wrote); --sync says it applied $STUB_SYNC_CHANGES (0) changes.
    const std::string stub = R"(
step=$STEP
for a in "$@"; do [[ $a == --cutover ]] && step=CUTOVER; [[ $a == --sync ]] && step=SYNC; done
[[ $step == SYNC ]] && echo "sync 1 of run stub: ${STUB_SYNC_CHANGES:-0} change(s) applied in 0.1s; converged"
while [[ $# -gt 0 ]]; do
  if [[ $1 == --work-dir ]]; then
    mkdir -p "$2"
    [[ $step == MIGRATE && ${STUB_AUDIT:-0} == 1 ]] && touch "$2/audit.jsonl"
  fi
  shift
done
rc_var=STUB_${step}_RC
exit ${!rc_var:-0}
)";
    for (const auto& [binary, step] :
         std::map<std::string, std::string>{{"chroma-migrate", "MIGRATE"},
                                            {"chroma-validate", "VALIDATE"},
                                            {"chroma-rollback", "ROLLBACK"}}) {
      const auto path = root_ / "bin" / binary;
      std::ofstream(path) << "#!/usr/bin/env bash\nSTEP=" << step << stub;
      std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path work() const { return root_ / "work"; }

  testing::ProcessResult flow(std::map<std::string, std::string> env,
                              std::vector<std::string> extra = {}) {
    std::vector<std::string> args{std::string(CM_SOURCE_DIR) + "/scripts/cutover.sh",
                                  "--source",
                                  "http://source:1",
                                  "--target",
                                  "http://target:1",
                                  "--work-dir",
                                  work().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    env["CHROMA_BIN_DIR"] = (root_ / "bin").string();
    return testing::run_process("/bin/bash", args, env);
  }

  nlohmann::json status() const {
    std::ifstream in(work() / kCutoverStatusFile);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str(), nullptr, false);
  }

  // Runs the flow and checks the exit code and every field of the status file.
  void expect(std::map<std::string, std::string> env, std::vector<std::string> extra, int exit_code,
              const std::string& step, int step_exit_code) {
    std::filesystem::remove_all(work());
    auto run = flow(env, extra);
    ASSERT_EQ(run.exit_code, exit_code) << run.output;
    auto s = status();
    ASSERT_TRUE(s.is_object()) << run.output;
    EXPECT_EQ(s["exit_code"], exit_code) << s.dump();
    EXPECT_EQ(s["outcome"], script_side().at(exit_code)) << s.dump();
    EXPECT_EQ(s["step"], step) << s.dump();
    EXPECT_EQ(s["step_exit_code"], step_exit_code) << s.dump();
    EXPECT_EQ(s["work_dir"], work().string()) << s.dump();
    EXPECT_TRUE(s["message"].is_string()) << s.dump();
    // Written atomically: no temp file left beside it.
    for (const auto& entry : std::filesystem::directory_iterator(work())) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
    }
    EXPECT_NE(run.output.find("step " + step + " exited " + std::to_string(step_exit_code)),
              std::string::npos)
        << run.output;
  }

  std::filesystem::path root_;
};

TEST_F(CutoverScriptMapping, AStepsOwnCodeNeverComesOutAsTheScripts) {
  // chroma-migrate usage (2) and config mismatch (3): step failed, not "rolled back" / "rollback
  // failed"; nothing was rolled back (the rollback stub would have exited 0 -> 2).
  expect({{"STUB_MIGRATE_RC", "2"}}, {}, kCutoverExitStepFailed, "migrate", 2);
  expect({{"STUB_MIGRATE_RC", "3"}}, {}, kCutoverExitStepFailed, "migrate", 3);
  expect({{"STUB_MIGRATE_RC", "4"}}, {}, kCutoverExitStepFailed, "migrate", 4);
  // 6 before anything was written (no audit.jsonl): nothing to roll back.
  expect({{"STUB_MIGRATE_RC", "6"}}, {}, kCutoverExitStepFailed, "migrate", 6);
  expect({{"STUB_MIGRATE_RC", "130"}}, {}, kCutoverExitInterrupted, "migrate", 130);
  // A catch-up sync that fails, or a source that keeps changing faster than syncs catch up.
  expect({{"STUB_SYNC_RC", "4"}}, {}, kCutoverExitStepFailed, "sync", 4);
  expect({{"STUB_SYNC_CHANGES", "5000"}}, {"--sync-rounds", "2"}, kCutoverExitStepFailed, "sync",
         0);
  // chroma-validate could not run (3): step failed, not "the rollback failed".
  expect({{"STUB_VALIDATE_RC", "3"}}, {}, kCutoverExitStepFailed, "validate", 3);
  expect({{"STUB_CUTOVER_RC", "9"}}, {"--staged"}, kCutoverExitStepFailed, "cutover", 9);
  expect({{"STUB_CUTOVER_RC", "2"}}, {"--staged"}, kCutoverExitStepFailed, "cutover", 2);
}

TEST_F(CutoverScriptMapping, TheVerdictsAndTheRollbackKeepTheirCodes) {
  expect({}, {}, kCutoverExitLive, "validate", 0);
  expect({}, {"--staged"}, kCutoverExitLive, "cutover", 0);
  expect({{"STUB_VALIDATE_RC", "1"}}, {}, kCutoverExitHeldForReview, "validate", 1);
  expect({{"STUB_VALIDATE_RC", "1"}}, {"--accept-warning"}, kCutoverExitLive, "validate", 1);
  expect({{"STUB_VALIDATE_RC", "2"}}, {}, kCutoverExitRolledBack, "rollback", 0);
  expect({{"STUB_VALIDATE_RC", "2"}, {"STUB_ROLLBACK_RC", "6"}}, {}, kCutoverExitRollbackFailed,
         "rollback", 6);
  expect({{"STUB_VALIDATE_RC", "2"}, {"STUB_ROLLBACK_RC", "2"}}, {}, kCutoverExitRollbackFailed,
         "rollback", 2);
  // A migrate failure after writing is rolled back with --force: 2, or 3 when that fails.
  expect({{"STUB_MIGRATE_RC", "7"}, {"STUB_AUDIT", "1"}}, {}, kCutoverExitRolledBack, "rollback",
         0);
  expect({{"STUB_MIGRATE_RC", "10"}, {"STUB_AUDIT", "1"}, {"STUB_ROLLBACK_RC", "130"}}, {},
         kCutoverExitRollbackFailed, "rollback", 130);
}

TEST_F(CutoverScriptMapping, ItsOwnUsageErrorsHaveTheirOwnCode) {
  auto run = testing::run_process("/bin/bash",
                                  {std::string(CM_SOURCE_DIR) + "/scripts/cutover.sh", "--bogus"},
                                  {{"CHROMA_BIN_DIR", (root_ / "bin").string()}});
  EXPECT_EQ(run.exit_code, kCutoverExitUsage) << run.output;
  EXPECT_NE(run.output.find("unknown argument '--bogus'"), std::string::npos) << run.output;
  // Missing --work-dir: nothing to write the status into, and nothing is created.
  run = testing::run_process("/bin/bash",
                             {std::string(CM_SOURCE_DIR) + "/scripts/cutover.sh", "--source", "x"},
                             {{"CHROMA_BIN_DIR", (root_ / "bin").string()}});
  EXPECT_EQ(run.exit_code, kCutoverExitUsage) << run.output;
  // A work dir that does not exist is not created for a usage error...
  run = flow({}, {"--source"});
  EXPECT_EQ(run.exit_code, kCutoverExitUsage) << run.output;
  EXPECT_FALSE(std::filesystem::exists(work()));
  // ...one that exists gets the status.
  std::filesystem::create_directories(work());
  run = flow({}, {"--unknown"});
  EXPECT_EQ(run.exit_code, kCutoverExitUsage) << run.output;
  auto s = status();
  EXPECT_EQ(s["outcome"], "usage") << s.dump();
  EXPECT_EQ(s["exit_code"], kCutoverExitUsage);
  EXPECT_TRUE(s["step"].is_null());
  EXPECT_TRUE(s["step_exit_code"].is_null());
}

}  // namespace
}  // namespace cm
