// scripts/cutover.sh, the unattended operator flow, against real servers: a clean staged run cuts
// over (exit 0); a run with a silent corruption injected on the wire validates FAILED and is rolled
// back automatically (exit 2) to exactly the pre-run target, staged or in place; a step that fails
// for another reason (a migrate usage error, a validate that cannot run) exits 12, never with the
// step's own 2 or 3, names the step in cutover_status.json and rolls nothing back.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

class OperatorFlow : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 200;
    o.dimension = 8;
    seed(source_uri(), o);
  }
  // Old data under the same names, so a run has something to replace and a rollback to restore.
  void seed_old_target() {
    corpus::CorpusOptions old;
    old.total_records = 80;
    old.dimension = 8;
    old.seed = 5;
    seed(target_uri(), old);
  }
  ProcessResult flow(const std::vector<std::string>& args) {
    return cutover_script(source_uri(), target_uri(), args);
  }
  nlohmann::json report(const std::string& name) {
    auto text = read_file(work_dir() / name);
    return text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  }
};

TEST_F(OperatorFlow, ACleanStagedRunValidatesAndCutsOver) {
  seed_old_target();
  auto run = flow({"--staged", "--", "--if-exists", "replace", "--batch-size", "50"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("CUT OVER"), std::string::npos) << run.output;
  EXPECT_EQ(report(kCutoverStatusFile)["outcome"], "live");
  EXPECT_EQ(report(kCutoverStatusFile)["step"], "cutover");
  EXPECT_NE(run.output.find("validation_report.md"), std::string::npos) << run.output;
  // cutover.sh names the pages too (the one to show the data owner).
  EXPECT_NE(run.output.find("validation_report.html"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("migration_summary.html"), std::string::npos) << run.output;
  EXPECT_EQ(report("validation_report.json")["overall_status"], "PASSED");
  // The live names serve the source's data; the old collections are retained beside them.
  auto source = state_of(source_uri());
  auto target = state_of(target_uri());
  StoreState live;
  for (const auto& [name, c] : source) live[name] = target[name];
  EXPECT_EQ(diff_text(source, live), "");
  EXPECT_EQ(target.size(), 2 * source.size());
}

TEST_F(OperatorFlow, ASilentCorruptionInPlaceIsCaughtAndRolledBackAutomatically) {
  seed_old_target();
  const auto before = state_of(target_uri());
  const auto source_before = state_of(source_uri());
  auto run = flow({"--inject-fault", "target.upsert=corrupt@2", "--", "--if-exists", "replace",
                   "--batch-size", "50"});
  ASSERT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("ROLLED BACK"), std::string::npos) << run.output;
  EXPECT_EQ(report(kCutoverStatusFile)["outcome"], "rolled-back");
  EXPECT_EQ(report(kCutoverStatusFile)["step"], "rollback");
  auto validation = report("validation_report.json");
  EXPECT_EQ(validation["overall_status"], "FAILED");
  EXPECT_TRUE(validation["rollback_triggered"].get<bool>());
  EXPECT_TRUE(report("rollback_report.json").is_object()) << run.output;
  // Exactly the pre-run target, collection metadata included (no migration_* keys left).
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
  EXPECT_EQ(diff_text(source_before, state_of(source_uri()), false), "");
}

TEST_F(OperatorFlow, AServerRefusalAfterInPlaceWritesIsRolledBack) {
  seed_old_target();
  const auto before = state_of(target_uri());
  // The second upsert is refused (exit 5): the first one and the ledger keys already landed.
  auto run = flow({"--inject-fault", "target.upsert=reject@2", "--", "--if-exists", "merge",
                   "--batch-size", "50", "--workers", "1"});
  ASSERT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("ROLLED BACK"), std::string::npos) << run.output;
  EXPECT_EQ(report(kCutoverStatusFile)["outcome"], "rolled-back");
  EXPECT_EQ(report(kCutoverStatusFile)["step"], "rollback");
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

TEST_F(OperatorFlow, AnUnavailableTargetAfterInPlaceWritesSaysLiveCollectionsArePartlyWritten) {
  seed_old_target();
  auto run = flow({"--inject-fault", "target.upsert=transient@2-", "--", "--if-exists", "merge",
                   "--batch-size", "50", "--workers", "1", "--max-attempts", "2"});
  ASSERT_EQ(run.exit_code, 12) << run.output;
  EXPECT_EQ(report(kCutoverStatusFile)["step_exit_code"], 4);
  EXPECT_NE(run.output.find("LIVE COLLECTIONS ARE PARTLY WRITTEN"), std::string::npos)
      << run.output;
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback.json")) << "nothing rolled back";
}

TEST_F(OperatorFlow, ASilentCorruptionInAStagedRunNeverReachesTheLiveNames) {
  seed_old_target();
  const auto before = state_of(target_uri());
  auto run = flow({"--staged", "--inject-fault", "target.upsert=corrupt@1", "--", "--if-exists",
                   "replace", "--batch-size", "50"});
  ASSERT_EQ(run.exit_code, 2) << run.output;
  EXPECT_EQ(run.output.find("CUT OVER"), std::string::npos) << run.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

// chroma-migrate's usage error is 2, which the script must not pass through: 2 means "FAILED and
// rolled back" to automation. It is the step-failed code, the status file names the step and its
// code, nothing was rolled back, and the same command with the flag fixed goes on from there.
TEST_F(OperatorFlow, AMigrateUsageErrorIsAFailedStepNotARollback) {
  seed_old_target();
  const auto before = state_of(target_uri());
  auto run = flow({"--", "--if-exists", "replace", "--batch-size", "not-a-number"});
  ASSERT_EQ(run.exit_code, kCutoverExitStepFailed) << run.output;
  EXPECT_NE(run.output.find("step migrate exited 2"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("ROLLED BACK"), std::string::npos) << run.output;
  auto status = report(kCutoverStatusFile);
  ASSERT_TRUE(status.is_object()) << run.output;
  EXPECT_EQ(status["outcome"], "step-failed");
  EXPECT_EQ(status["exit_code"], kCutoverExitStepFailed);
  EXPECT_EQ(status["step"], "migrate");
  EXPECT_EQ(status["step_exit_code"], kExitUsage);
  EXPECT_EQ(status["work_dir"], work_dir().string());
  // Nothing rolled back, nothing written.
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback_report.json"));
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback.json"));
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");

  auto again = flow({"--", "--if-exists", "replace", "--batch-size", "50"});
  ASSERT_EQ(again.exit_code, kCutoverExitLive) << again.output;
  status = report(kCutoverStatusFile);
  EXPECT_EQ(status["outcome"], "live");
  EXPECT_EQ(status["step"], "validate");
  EXPECT_EQ(status["step_exit_code"], kValidateExitPassed);
}

// chroma-validate's "could not run" is 3, which would read as "the rollback itself failed": a dry
// run leaves no finished run to validate, so the validate step cannot run.
TEST_F(OperatorFlow, AValidateThatCannotRunIsAFailedStepNotAFailedRollback) {
  seed_old_target();
  const auto before = state_of(target_uri());
  auto run = flow({"--", "--if-exists", "replace", "--dry-run"});
  ASSERT_EQ(run.exit_code, kCutoverExitStepFailed) << run.output;
  EXPECT_NE(run.output.find("step validate exited 3"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("ROLLBACK FAILED"), std::string::npos) << run.output;
  auto status = report(kCutoverStatusFile);
  ASSERT_TRUE(status.is_object()) << run.output;
  EXPECT_EQ(status["outcome"], "step-failed");
  EXPECT_EQ(status["exit_code"], kCutoverExitStepFailed);
  EXPECT_EQ(status["step"], "validate");
  EXPECT_EQ(status["step_exit_code"], kValidateExitCouldNotRun);
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "rollback_report.json"));
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

}  // namespace
}  // namespace cm::testing
