// Crash at every destructive call, then resume or roll back (issue 10): each case kills a real
// binary (SIGKILL, CHROMA_MIGRATE_FAULTS crash@N: right after the server acknowledged the call,
// before any bookkeeping) at one delete, drop, quarantine rename, cutover or finalize rename,
// merge write or rollback step, then finishes the job the way an operator would (--resume, the
// same command again, or chroma-rollback --force). Every case proves:
//  - a collection the run never backed up or created ("bystander") is never touched;
//  - nothing is left under a quarantine name;
//  - resumed: the live names hold exactly the source (or validate PASSED, for merges);
//  - rolled back: the target is exactly as before the run (ids, configuration, records).
#include <gtest/gtest.h>

#include <functional>

#include "common/cli/exit_codes.hpp"
#include "tests/integration/rollback_fixture.hpp"

namespace cm::testing {
namespace {

enum class Finish { kResume, kRollback };

struct CrashCase {
  const char* name;
  // The run up to the command that is killed: "replace", "merge", "cutover" or "finalize".
  const char* killed_step;
  const char* fault;
  Finish finish;
  // Rolled back: a text the rollback report must hold (the step that proves the path taken).
  const char* report_mentions = "";
};

std::ostream& operator<<(std::ostream& os, const CrashCase& c) {
  return os << c.name;
}

class CrashFixture : public RollbackIntegration {
 protected:
  static constexpr const char* kBystander = "bystander";

  void SetUp() override {
    RollbackIntegration::SetUp();
    seed_target(2, 120);  // kb_articles and support_tickets exist (60 records each)
    auto target = open(target_uri());
    CollectionSpec spec{kBystander, {{"owner", std::string("other team")}}, {}, {}};
    auto info = target->create_collection(spec);
    ASSERT_TRUE(info) << info.error().message;
    ASSERT_TRUE(target->upsert(
        *info, std::vector<Record>{{"b-0", std::vector<float>(8, 0.25f), "not the run's", {}},
                                   {"b-1", std::vector<float>(8, 0.75f), "not the run's", {}}}));
    before_ = state_of(target_uri());
  }

  std::vector<std::string> run_flags(const std::string& step) const {
    if (step == "merge") return {"--if-exists", "merge", "--batch-size", "50"};
    if (step == "replace") return {"--if-exists", "replace", "--batch-size", "50"};
    return {"--stage", "--if-exists", "replace", "--run-id", "crash1", "--batch-size", "50"};
  }
  std::vector<std::string> with_resume(std::vector<std::string> flags) const {
    flags.push_back("--resume");
    return flags;
  }
  ProcessResult staged_step(const std::string& flag,
                            const std::map<std::string, std::string>& env = {}) const {
    return tool(CHROMA_MIGRATE_BIN, {flag}, env);
  }

  // Runs everything before the killed command, then the killed command itself.
  void run_until_killed(const CrashCase& c) {
    const std::string step = c.killed_step;
    const std::map<std::string, std::string> fault{{"CHROMA_MIGRATE_FAULTS", c.fault}};
    ProcessResult killed;
    if (step == "replace" || step == "merge") {
      killed = migrate(run_flags(step), fault);
    } else {
      ASSERT_EQ(migrate(run_flags(step)).exit_code, 0);
      ASSERT_EQ(validate().exit_code, 0);
      if (step == "finalize") {
        ASSERT_EQ(staged_step("--cutover").exit_code, 0);
      }
      killed = staged_step("--" + step, fault);
    }
    ASSERT_TRUE(killed.signaled) << c.fault << " never fired:\n" << killed.output;
  }

  // Finishes the killed command the way an operator would.
  void resume(const CrashCase& c) {
    const std::string step = c.killed_step;
    ProcessResult done = step == "replace" || step == "merge"
                             ? migrate(with_resume(run_flags(step)))
                             : staged_step("--" + step);
    ASSERT_EQ(done.exit_code, 0) << done.output;
    if (step == "merge") {
      EXPECT_EQ(validate().exit_code, 0);
    } else {
      EXPECT_EQ(diff_text(source_before_, live_collections()), "");
    }
  }

  StoreState live_collections() const {
    StoreState live = state_of(target_uri());
    for (auto it = live.begin(); it != live.end();) {
      it = source_before_.contains(it->first) ? std::next(it) : live.erase(it);
    }
    return live;
  }

  void expect_nothing_stranded_and_bystander_untouched() const {
    const StoreState now = state_of(target_uri());
    for (const auto& [name, state] : now) {
      EXPECT_EQ(name.find(".quarantine-"), std::string::npos) << name << " left in quarantine";
    }
    ASSERT_TRUE(now.contains(kBystander)) << "a collection the run never backed up was deleted";
    EXPECT_EQ(diff_text({{kBystander, before_.at(kBystander)}}, {{kBystander, now.at(kBystander)}},
                        /*ignore_ledger_keys=*/false),
              "");
  }

  StoreState before_;
};

class DestructiveCrash : public CrashFixture, public ::testing::WithParamInterface<CrashCase> {};

TEST_P(DestructiveCrash, NothingIsLostAndTheJobFinishes) {
  const CrashCase& c = GetParam();
  run_until_killed(c);
  if (HasFatalFailure()) return;
  if (c.finish == Finish::kResume) {
    resume(c);
  } else {
    expect_rolled_back(rollback({"--force", "--reason", "crash matrix"}), before_);
    EXPECT_NE(rollback_report().dump().find(c.report_mentions), std::string::npos)
        << c.report_mentions << "\n"
        << rollback_report().dump(1);
  }
  expect_nothing_stranded_and_bystander_untouched();
}

INSTANTIATE_TEST_SUITE_P(
    EveryDestructiveCall, DestructiveCrash,
    ::testing::Values(
        // In place, --if-exists replace: the quarantine rename (by id), the delete of the
        // quarantine name, the re-create; for each replaced collection.
        CrashCase{"ReplaceQuarantineRenameResume", "replace", "target.rename_collection=crash@1",
                  Finish::kResume},
        CrashCase{"ReplaceQuarantineRenameRollback", "replace", "target.rename_collection=crash@1",
                  Finish::kRollback},
        CrashCase{"ReplaceSecondDeleteResume", "replace", "target.delete_collection=crash@2",
                  Finish::kResume},
        CrashCase{"ReplaceSecondDeleteRollback", "replace", "target.delete_collection=crash@2",
                  Finish::kRollback},
        CrashCase{"ReplaceRecreateRollback", "replace", "target.create_collection=crash@1",
                  Finish::kRollback},
        // --if-exists merge: an acknowledged upsert into a live collection, the stale-key removal.
        CrashCase{"MergeUpsertResume", "merge", "target.upsert=crash@2", Finish::kResume},
        CrashCase{"MergeUpsertRollback", "merge", "target.upsert=crash@2", Finish::kRollback},
        CrashCase{"MergeKeyRemovalRollback", "merge", "target.remove_metadata_keys=crash@1",
                  Finish::kRollback},
        // --cutover: the retain rename of the first live name, the swap of its staging collection.
        CrashCase{"CutoverRetainResume", "cutover", "target.rename_collection=crash@1",
                  Finish::kResume},
        CrashCase{"CutoverSwapRollback", "cutover", "target.rename_collection=crash@2",
                  Finish::kRollback},
        // --finalize: the quarantine rename of a retained collection, its delete.
        CrashCase{"FinalizeQuarantineRenameResume", "finalize", "target.rename_collection=crash@1",
                  Finish::kResume},
        CrashCase{"FinalizeQuarantineRenameRollback", "finalize",
                  "target.rename_collection=crash@1", Finish::kRollback, ".quarantine-crash1"},
        CrashCase{"FinalizeDeleteRollback", "finalize", "target.delete_collection=crash@1",
                  Finish::kRollback}),
    [](const ::testing::TestParamInfo<CrashCase>& param) { return std::string(param.param.name); });

// chroma-rollback itself killed at each kind of destructive call, then run again.
TEST_F(CrashFixture, RollbackOfAMergeKilledAtEachStepCompletesOnReRun) {
  ASSERT_EQ(migrate(run_flags("merge")).exit_code, 0);
  for (const char* fault : {"target.delete_collection=crash@1", "target.delete_records=crash@1",
                            "target.upsert=crash@1"}) {
    auto killed =
        rollback({"--force", "--reason", "crash matrix"}, {{"CHROMA_MIGRATE_FAULTS", fault}});
    if (!killed.signaled) {
      // A merge whose rollback has no call of this kind left: fine, it must then have finished.
      ASSERT_EQ(killed.exit_code, 0) << fault << "\n" << killed.output;
    }
  }
  expect_rolled_back(rollback({"--force", "--reason", "crash matrix"}), before_);
  expect_nothing_stranded_and_bystander_untouched();
}

}  // namespace
}  // namespace cm::testing
