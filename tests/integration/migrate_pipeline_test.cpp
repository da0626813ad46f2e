// The pipelined import (migrate/import_stream.hpp) against real Chroma servers: parts reach the
// target while the export runs, the import phase then sends nothing twice, an import error stops
// the export and --resume finishes, a staged run fills only its staging collections, and
// --no-pipeline (or a contract) keeps the sequential order. kill -9 at every point of a pipelined
// run is covered by migrate_resume_test (its runs are pipelined by default).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checkpoints/checkpoint.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

struct Streamed {
  std::size_t parts = 0;
  std::uint64_t records = 0;
};

// What the checkpoint says the pipelined import sent, over all collections.
Streamed streamed(const std::filesystem::path& work) {
  Streamed out;
  auto checkpoint = ckpt::CheckpointStore::load(work / "checkpoint.json");
  EXPECT_TRUE(checkpoint) << checkpoint.error().message;
  if (!checkpoint) return out;
  auto state = (*checkpoint)->snapshot();
  for (const auto& [name, p] : state.stages["stream"]) {
    out.parts += p.details.value("parts", nlohmann::json::array()).size();
    out.records += p.details.value("records", std::uint64_t{0});
  }
  return out;
}

class MigratePipeline : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 1200;  // 3 collections x 400: 12 parts of 100
    o.collections = 3;
    o.dimension = 32;
    seed(source_uri(), o);
    source_ = state_of(source_uri());
  }
  const std::vector<std::string> flags_{"--batch-size", "100", "--workers", "2"};
  StoreState source_;
};

TEST_F(MigratePipeline, PartsReachTheTargetWhileTheExportRuns) {
  auto run = migrate(flags_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
  EXPECT_NE(run.output.find("import pipelined with the export"), std::string::npos) << run.output;
  // Every part went during the export phase; the import phase found nothing left to send, and
  // no record was sent twice.
  const Streamed s = streamed(work_dir());
  EXPECT_EQ(s.parts, 12u);
  EXPECT_EQ(s.records, 1200u);
  EXPECT_NE(run.output.find("1200 sent in"), std::string::npos) << run.output;
}

TEST_F(MigratePipeline, AnImportErrorStopsTheExportAndResumeFinishes) {
  auto failed = migrate(flags_, {{"CHROMA_MIGRATE_FAULTS", "target.upsert=reject@3"}});
  ASSERT_EQ(failed.exit_code, kExitRejected) << failed.output;
  auto checkpoint = ckpt::CheckpointStore::load(work_dir() / "checkpoint.json");
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  EXPECT_EQ((*checkpoint)->snapshot().phase, ckpt::Phase::kExport)
      << "the export stops with the import: the snapshot is not sealed";
  EXPECT_LT(streamed(work_dir()).parts, 12u);

  auto f = flags_;
  f.push_back("--resume");
  auto resumed = migrate(f);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
}

TEST_F(MigratePipeline, AStagedRunFillsOnlyItsStagingCollections) {
  auto f = flags_;
  f.push_back("--stage");
  auto run = migrate(f);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(streamed(work_dir()).records, 1200u);
  const auto target = state_of(target_uri());
  ASSERT_EQ(target.size(), source_.size());
  for (const auto& [name, collection] : target) {
    EXPECT_NE(name.find(".staged-"), std::string::npos) << name << " is a live name";
  }
}

TEST_F(MigratePipeline, NoPipelineExportsEverythingFirst) {
  auto f = flags_;
  f.push_back("--no-pipeline");
  auto run = migrate(f);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
  EXPECT_EQ(run.output.find("import pipelined"), std::string::npos) << run.output;
  EXPECT_EQ(streamed(work_dir()).parts, 0u);
}

}  // namespace
}  // namespace cm::testing
