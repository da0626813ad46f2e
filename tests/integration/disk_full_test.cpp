// The work directory's disk filling up while the run writes to it (issue 10): mid-export and
// mid-import, the run stops with exit 8 (a local file could not be written), the checkpoint on
// disk is whole, and --resume after space is freed finishes with a target identical to the
// source. The work dir is a 16 MiB tmpfs (needs CAP_SYS_ADMIN; skipped without); the disk passes
// the pre-flight and is filled at an exact point: the run stops itself there (fault stop@N,
// SIGSTOP), the test fills the file system, then lets it continue (SIGCONT).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "checkpoints/checkpoint.hpp"
#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

// Whether `pid` is stopped (state 'T' in /proc/<pid>/stat).
bool is_stopped(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close_paren = text.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < text.size() &&
         text[close_paren + 2] == 'T';
}

// Writes `path` until the file system is full; returns the bytes written.
std::uint64_t fill_until_full(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(64 * 1024, 'x');
  std::uint64_t written = 0;
  for (;;) {
    const std::size_t n = std::fwrite(chunk.data(), 1, chunk.size(), f);
    written += n;
    if (n < chunk.size()) break;  // ENOSPC
  }
  // Smaller writes take the last pages a large one could not.
  for (std::size_t n = 1; n > 0;) n = std::fwrite(chunk.data(), 1, 512, f), written += n;
  std::fclose(f);
  return written;
}

class DiskFull : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    small_ = dir_ / "small";
    fs::create_directories(small_);
    if (::mount("tmpfs", small_.c_str(), "tmpfs", 0, "size=16m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN)";
    }
    mounted_ = true;
    corpus::CorpusOptions o;
    o.total_records = 3000;
    o.collections = 2;
    o.dimension = 64;
    seed(source_uri(), o);
    source_ = state_of(source_uri());
  }
  void TearDown() override {
    if (mounted_) ::umount2(small_.c_str(), MNT_DETACH);
    MigrateIntegration::TearDown();
  }

  ProcessResult run(const std::vector<std::string>& extra,
                    const std::map<std::string, std::string>& env = {},
                    const std::function<void(pid_t)>& while_running = {}) const {
    std::vector<std::string> args{"--source",     source_uri(),
                                  "--target",     target_uri(),
                                  "--work-dir",   (small_ / "work").string(),
                                  "--batch-size", "100",
                                  "--workers",    "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(CHROMA_MIGRATE_BIN, args, env, while_running);
  }

  // Runs with `fault` (a stop@N rule); when the run stops there, fills the disk and continues it.
  // The run must then fail with exit 8 and a whole checkpoint; the filler is removed, and
  // --resume must finish identical to the source.
  void fill_at(const std::string& fault) {
    const fs::path filler = small_ / "filler";
    bool filled = false;
    auto failed = run({}, {{"CHROMA_MIGRATE_FAULTS", fault}}, [&](pid_t pid) {
      if (filled || !is_stopped(pid)) return;
      filled = true;
      EXPECT_GT(fill_until_full(filler), 0u);
      ::kill(pid, SIGCONT);
    });
    ASSERT_TRUE(filled) << "the run never stopped at " << fault << "\n" << failed.output;
    EXPECT_EQ(failed.exit_code, kExitIo) << failed.output;
    EXPECT_NE(failed.output.find("No space left on device"), std::string::npos) << failed.output;
    auto checkpoint = ckpt::CheckpointStore::load(small_ / "work" / "checkpoint.json");
    ASSERT_TRUE(checkpoint) << "the checkpoint is not whole: " << checkpoint.error().message;

    fs::remove(filler);
    auto resumed = run({"--resume"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(diff_text(source_, state_of(target_uri())), "");
  }

  fs::path small_;
  bool mounted_ = false;
  StoreState source_;
};

// get_records: one sample per collection for the pre-flight (calls 1 and 2), then the export's
// batches; call 4 is the export's second batch.
TEST_F(DiskFull, MidExportStopsWithExit8ThenResumeFinishesIdentical) {
  fill_at("source.get_records=stop@4");
}

TEST_F(DiskFull, MidImportStopsWithExit8ThenResumeFinishesIdentical) {
  fill_at("target.upsert=stop@3");
}

}  // namespace
}  // namespace cm::testing
