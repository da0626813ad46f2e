// kill -9 at several points, then --resume: the target ends identical to the source, nothing lost,
// nothing duplicated, and a resume repeats at most one batch per worker. The target server itself
// killed with SIGKILL mid-import and restarted on the same port and data: the run's retries carry
// it through, or, when they run out first, --resume finishes it.
#include <gtest/gtest.h>

#include <signal.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "checkpoints/checkpoint.hpp"
#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

// Import batches the checkpoint records as done, over all collections: by the import phase or
// by the pipelined import.
std::size_t import_batches_done(const std::filesystem::path& work) {
  auto checkpoint = ckpt::CheckpointStore::load(work / "checkpoint.json");
  EXPECT_TRUE(checkpoint) << checkpoint.error().message;
  if (!checkpoint) return 0;
  auto state = (*checkpoint)->snapshot();
  std::size_t done = 0;
  for (const auto& [name, p] : state.stages["import"]) done += p.done.size();
  // Parts the pipelined import sent while the export ran (migrate/import_stream.hpp).
  for (const auto& [name, p] : state.stages["stream"])
    done += p.details.value("parts", nlohmann::json::array()).size();
  return done;
}

// The "N sent" figure of a migrate invocation's summary line.
std::size_t records_sent(const std::string& output) {
  std::smatch m;
  static const std::regex sent("(\\d+) sent in");
  if (!std::regex_search(output, m, sent)) return SIZE_MAX;
  return std::stoul(m[1]);
}

// True once the checkpoint on disk records an import batch done, by the import phase or by the
// pipelined import (a part sent while the export ran).
bool import_started(const std::filesystem::path& work) {
  auto text = read_file(work / "checkpoint.json");
  if (!text) return false;
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return false;
  for (const char* stage : {"import", "stream"}) {
    if (!json["stages"].contains(stage)) continue;
    for (const auto& [name, p] : json["stages"][stage].items()) {
      if (!p["done"].empty() || !p["details"].value("parts", nlohmann::json::array()).empty()) {
        return true;
      }
    }
  }
  return false;
}

class CrashPoint : public MigrateIntegration, public ::testing::WithParamInterface<const char*> {};

TEST_P(CrashPoint, KillNineThenResumeGivesAnIdenticalTarget) {
  corpus::CorpusOptions o;
  o.total_records = 1200;  // 3 collections x 400 = 4 batches of 100 each
  o.collections = 3;
  o.dimension = 32;
  seed(source_uri(), o);
  auto before = state_of(source_uri());

  const std::vector<std::string> flags{"--batch-size", "100", "--workers", "2"};
  auto crashed = migrate(flags, {{"CHROMA_MIGRATE_FAULTS", GetParam()}});
  ASSERT_TRUE(crashed.signaled) << "expected SIGKILL from " << GetParam() << "\n" << crashed.output;
  EXPECT_EQ(crashed.signal, SIGKILL);

  // A crash in the pre-flight reads (the disk-space estimate samples the source) comes before
  // the run has written anything: there is no checkpoint, the target is untouched, and the
  // operator simply runs the command again.
  const bool started = std::filesystem::exists(work_dir() / "checkpoint.json");
  if (!started) {
    EXPECT_TRUE(state_of(target_uri()).empty());
  }
  const std::size_t done_before = started ? import_batches_done(work_dir()) : 0;
  auto resumed = migrate([&] {
    auto f = flags;
    if (started) f.push_back("--resume");
    return f;
  }());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri())), "");
  EXPECT_EQ(diff_text(before, state_of(source_uri())), "");

  // 12 import batches of 100; the resume sends what the checkpoint lacks, and of the batches
  // acknowledged before the kill at most one per worker (2) is sent again.
  const std::size_t remaining = (12 - done_before) * 100;
  const std::size_t resent = records_sent(resumed.output);
  EXPECT_GE(resent, remaining);
  EXPECT_LE(resent, remaining + 2 * 100) << "import batches done before the kill: " << done_before;
}

INSTANTIATE_TEST_SUITE_P(
    Points, CrashPoint,
    ::testing::Values("source.list_ids=crash@1",     // pre-flight (nothing written yet)
                      "source.get_records=crash@3",  // the disk-space samples (one per collection)
                      "source.get_records=crash@6",  // mid-export, fetched but not written
                      "target.create_collection=crash@2",  // created, ledger not yet updated
                      "target.upsert=crash@5"),  // acknowledged, checkpoint not yet written
    [](const auto& param_info) {
      std::string name = param_info.param;
      return std::regex_replace(name, std::regex("[^A-Za-z0-9]"), "_");
    });

TEST_F(MigrateIntegration, ExternalKillNineDuringImportThenResume) {
  corpus::CorpusOptions o;
  o.total_records = 2000;
  o.collections = 2;
  o.dimension = 32;
  seed(source_uri(), o);
  auto before = state_of(source_uri());
  const std::vector<std::string> flags{"--batch-size", "100", "--workers", "2"};

  // Kill the process from outside once the checkpoint shows import progress.
  bool killed = false;
  auto run = migrate(flags, {}, [&](pid_t pid) {
    if (killed || !import_started(work_dir())) return;
    ::kill(pid, SIGKILL);
    killed = true;
  });
  ASSERT_TRUE(killed && run.signaled) << run.output;

  // The checkpoint on disk is whole and says where to go on.
  auto checkpoint = ckpt::CheckpointStore::load(work_dir() / "checkpoint.json");
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  // The import is pipelined with the export: the kill may land before the export ended.
  const auto phase = (*checkpoint)->snapshot().phase;
  EXPECT_TRUE(phase == ckpt::Phase::kImport || phase == ckpt::Phase::kExport)
      << ckpt::phase_name(phase);
  const std::size_t done_before = import_batches_done(work_dir());

  auto resumed = migrate([&] {
    auto f = flags;
    f.push_back("--resume");
    return f;
  }());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri())), "");
  // At most one batch per worker (2) is sent again: the resume sends the rest plus those.
  const std::size_t resent = records_sent(resumed.output);
  EXPECT_LE(resent, 2000 - done_before * 100 + 2 * 100) << "done before kill: " << done_before;
  EXPECT_GE(resent, 2000 - done_before * 100);
}

class TargetServerKilled : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 6000;
    o.collections = 2;
    o.dimension = 64;
    seed(source_uri(), o);
    source_ = state_of(source_uri());
  }
  // Runs migrate with `flags`; once an import batch is acknowledged, SIGKILLs the target server
  // and starts it again on the same port and data directory.
  ProcessResult migrate_through_a_target_crash(const std::vector<std::string>& flags) {
    bool restarted = false;
    auto run = migrate(flags, {}, [&](pid_t) {
      if (restarted || !import_started(work_dir())) return;
      restarted = true;
      Status up = target_server().restart();
      ASSERT_TRUE(up) << up.error().message;
    });
    EXPECT_TRUE(restarted) << "the import finished before the target could be killed";
    return run;
  }
  StoreState source_;
};

TEST_F(TargetServerKilled, RetriesCarryTheImportAcrossARestart) {
  // Enough attempts to outlast a restart (20 ms doubling: about 20 s in all).
  auto run = migrate_through_a_target_crash(
      {"--batch-size", "50", "--workers", "1", "--max-attempts", "11"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
}

TEST_F(TargetServerKilled, ResumeFinishesWhenTheRetriesRanOut) {
  const std::vector<std::string> flags{"--batch-size",   "100", "--workers", "2",
                                       "--max-attempts", "1"};
  auto run = migrate_through_a_target_crash(flags);
  ASSERT_EQ(run.exit_code, kExitUnavailable) << run.output;
  auto checkpoint = ckpt::CheckpointStore::load(work_dir() / "checkpoint.json");
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  auto f = flags;
  f.push_back("--resume");
  auto resumed = migrate(f);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
}

}  // namespace
}  // namespace cm::testing
