// scripts/cutover.sh, the unattended operator flow, against real servers: a clean staged run cuts
// over (exit 0); a run with a silent corruption injected on the wire validates FAILED and is rolled
// back automatically (exit 2) to exactly the pre-run target, staged or in place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
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
  ProcessResult flow(std::vector<std::string> args) {
    std::vector<std::string> all{std::string(CM_SOURCE_DIR) + "/scripts/cutover.sh",
                                 "--source",
                                 source_uri(),
                                 "--target",
                                 target_uri(),
                                 "--work-dir",
                                 work_dir().string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_process("/bin/bash", all, {{"CHROMA_BIN_DIR", CM_BIN_DIR}});
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
  EXPECT_NE(run.output.find("validation_report.md"), std::string::npos) << run.output;
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
  auto validation = report("validation_report.json");
  EXPECT_EQ(validation["overall_status"], "FAILED");
  EXPECT_TRUE(validation["rollback_triggered"].get<bool>());
  EXPECT_TRUE(report("rollback_report.json").is_object()) << run.output;
  // Exactly the pre-run target, collection metadata included (no migration_* keys left).
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
  EXPECT_EQ(diff_text(source_before, state_of(source_uri()), false), "");
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

}  // namespace
}  // namespace cm::testing
