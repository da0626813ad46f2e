// chroma-migrate's refusals and failures: each exits with its documented code, says what to do,
// and leaves data and checkpoints intact.
#include <gtest/gtest.h>

#include "checkpoints/checkpoint.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

corpus::CorpusOptions small_corpus() {
  corpus::CorpusOptions o;
  o.total_records = 400;
  o.collections = 2;
  o.dimension = 8;
  return o;
}

TEST_F(MigrateIntegration, RetriesRunOutThenResumeFinishes) {
  seed(source_uri(), small_corpus());
  auto before = state_of(source_uri());
  // Every target upsert from the 3rd on fails transiently: retried, then given up.
  auto failed = migrate({"--batch-size", "50", "--workers", "1", "--max-attempts", "3"},
                        {{"CHROMA_MIGRATE_FAULTS", "target.upsert=transient@3-"}});
  EXPECT_EQ(failed.exit_code, kExitUnavailable) << failed.output;
  EXPECT_TRUE(contains(failed.output, "gave up after 3 attempts")) << failed.output;
  EXPECT_TRUE(contains(failed.output, "retrying in")) << failed.output;
  auto checkpoint = ckpt::CheckpointStore::load(work_dir() / "checkpoint.json");
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  // The import runs with the export (migrate/import_stream.hpp): it failed in either phase.
  const auto phase = (*checkpoint)->snapshot().phase;
  EXPECT_TRUE(phase == ckpt::Phase::kExport || phase == ckpt::Phase::kImport)
      << ckpt::phase_name(phase);

  auto resumed = migrate({"--batch-size", "50", "--workers", "1", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(diff_states(before, state_of(target_uri())).empty());
}

TEST_F(MigrateIntegration, ServerRejectionIsNotRetriedAndQuoted) {
  seed(source_uri(), small_corpus());
  auto run = migrate({}, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=reject@1"}});
  EXPECT_EQ(run.exit_code, kExitRejected) << run.output;
  EXPECT_FALSE(contains(run.output, "retrying")) << run.output;
  EXPECT_TRUE(contains(run.output, "injected rejection")) << run.output;
}

TEST_F(MigrateIntegration, ResumeWithChangedConfigurationIsRefused) {
  seed(source_uri(), small_corpus());
  auto crashed =
      migrate({"--batch-size", "50"}, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@2"}});
  ASSERT_TRUE(crashed.signaled) << crashed.output;
  auto changed = migrate({"--batch-size", "60", "--resume"});
  EXPECT_EQ(changed.exit_code, kExitConfigMismatch) << changed.output;
  EXPECT_TRUE(contains(changed.output, "batch_size: 50 -> 60")) << changed.output;
  auto again = migrate({"--batch-size", "50"});  // without --resume on a used work dir
  EXPECT_EQ(again.exit_code, kExitConfigMismatch) << again.output;
  EXPECT_TRUE(contains(again.output, "--resume")) << again.output;
  auto ok = migrate({"--batch-size", "50", "--resume"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST_F(MigrateIntegration, ExistingTargetCollectionIsRefusedBeforeAnyWrite) {
  seed(source_uri(), small_corpus());
  auto target = open(target_uri());
  ASSERT_TRUE(target->create_collection({"kb_articles", {}, {}, {}}));
  auto before = state_of(target_uri());
  auto run = migrate({});
  EXPECT_EQ(run.exit_code, kExitConflict) << run.output;
  EXPECT_TRUE(contains(run.output, "kb_articles")) << run.output;
  EXPECT_FALSE(std::filesystem::exists(work_dir())) << "nothing may be written on refusal";
  EXPECT_TRUE(diff_states(before, state_of(target_uri())).empty());
}

TEST_F(MigrateIntegration, BadInputIsRefusedWithItsFixAndNothingWritten) {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  } cases[] = {
      {{"--source", "ftp://x", "--target", target_uri(), "--work-dir", work_dir().string()},
       kExitUsage,
       "unsupported scheme"},
      {{"--source", source_uri(), "--target", source_uri(), "--work-dir", work_dir().string()},
       kExitUsage,
       "same store"},
      {{"--source", source_uri(), "--target", target_uri(), "--work-dir", work_dir().string(),
        "--collections", "nope_nope"},
       kExitUsage,
       "does not have: nope_nope"},
      {{"--source", source_uri(), "--target", target_uri(), "--work-dir", work_dir().string(),
        "--resume"},
       kExitUsage,
       "nothing to resume"},
      {{"--source", source_uri(), "--target", target_uri(), "--work-dir", work_dir().string(),
        "--batch-size", "0"},
       kExitUsage,
       "--batch-size"},
      {{"--source", "http://127.0.0.1:1", "--target", target_uri(), "--work-dir",
        work_dir().string(), "--max-attempts", "1"},
       kExitUnavailable,
       "127.0.0.1:1"},
      {{"--target", target_uri(), "--work-dir", work_dir().string()},
       kExitUsage,
       "--source is required"},
  };
  seed(source_uri(), small_corpus());
  for (const auto& c : cases) {
    auto run = run_process(CHROMA_MIGRATE_BIN, c.args);
    EXPECT_EQ(run.exit_code, c.code) << run.output;
    EXPECT_TRUE(contains(run.output, c.says)) << "expected '" << c.says << "' in:\n" << run.output;
    EXPECT_FALSE(std::filesystem::exists(work_dir())) << run.output;
  }
}

// A fault spec whose call number does not fit 64 bits is a bad spec (2), not an internal error
// (70).
TEST_F(MigrateIntegration, AnOutOfRangeFaultSpecIsAUsageError) {
  seed(source_uri(), small_corpus());
  auto run =
      migrate({}, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@99999999999999999999999"}});
  EXPECT_EQ(run.exit_code, kExitUsage) << run.output;
  EXPECT_TRUE(contains(run.output, "CHROMA_MIGRATE_FAULTS rule")) << run.output;
  EXPECT_FALSE(contains(run.output, "internal error")) << run.output;
  EXPECT_TRUE(state_of(target_uri()).empty());
}

}  // namespace
}  // namespace cm::testing
