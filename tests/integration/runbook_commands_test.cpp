// The seed runbook's chroma-migrate command lines as written, against real servers:
//   chroma-migrate --source-url S --target-url T --batch-size 100 --verbose
// with no --work-dir (a default one is made in the current directory and printed), and after a
// crash `... --checkpoint-file <that run's checkpoint.json>` (also spelled --resume-from), which
// resumes that run. A file that is not a run's checkpoint is a usage error (2), nothing written.
#include <regex>

#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

class RunbookCommands : public MigrateIntegration {
 protected:
  // chroma-migrate ARGS run in `cwd` (the default work dir goes there).
  static ProcessResult migrate_in(const std::filesystem::path& cwd,
                                  const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> sh{"-c", "cd \"$0\" && exec \"$@\"", cwd.string(), CHROMA_MIGRATE_BIN};
    sh.insert(sh.end(), args.begin(), args.end());
    return run_process("/bin/sh", sh, env);
  }
  std::vector<std::string> runbook_flags() const {
    return {"--source-url", source_uri(), "--target-url", target_uri(),
            "--batch-size", "100",        "--verbose"};
  }
  // The one chroma-migrate-* directory under `cwd`.
  static std::filesystem::path default_work_dir(const std::filesystem::path& cwd) {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(cwd)) {
      if (e.path().filename().string().rfind("chroma-migrate-", 0) == 0) found.push_back(e.path());
    }
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? std::filesystem::path() : found.front();
  }
};

TEST_F(RunbookCommands, MigrateWithADefaultWorkDirThenResumeFromItsCheckpoint) {
  corpus::CorpusOptions o;
  o.total_records = 900;
  o.collections = 3;
  o.dimension = 32;
  seed(source_uri(), o);
  const auto before = state_of(source_uri());
  const auto cwd = dir_ / "operator";
  std::filesystem::create_directories(cwd);

  auto crashed =
      migrate_in(cwd, runbook_flags(), {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@4"}});
  ASSERT_TRUE(crashed.signaled) << crashed.output;
  const auto work = default_work_dir(cwd);
  ASSERT_FALSE(work.empty());
  EXPECT_NE(crashed.output.find("work dir: " + work.string()), std::string::npos)
      << "the default work dir is printed\n"
      << crashed.output;
  ASSERT_TRUE(std::filesystem::exists(work / "checkpoint.json"));

  auto flags = runbook_flags();
  flags.insert(flags.end(), {"--checkpoint-file", (work / "checkpoint.json").string()});
  auto resumed = migrate_in(cwd, flags);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resum"), std::string::npos) << resumed.output;
  EXPECT_EQ(diff_text(before, state_of(target_uri())), "");
  EXPECT_EQ(default_work_dir(cwd), work) << "the resume used the run's own directory";

  // --resume-from is the same flag: on the finished run there is nothing left to do.
  flags = runbook_flags();
  flags.insert(flags.end(), {"--resume-from", (work / "checkpoint.json").string()});
  EXPECT_EQ(migrate_in(cwd, flags).exit_code, 0);
}

TEST_F(RunbookCommands, ACheckpointFileThatIsNoRunsIsAUsageError) {
  const auto cwd = dir_ / "operator";
  std::filesystem::create_directories(cwd);
  const auto stray = cwd / "checkpoint_20251130_105000.json";
  std::ofstream(stray) << "{}";
  auto flags = runbook_flags();
  flags.insert(flags.end(), {"--checkpoint-file", stray.string()});
  auto refused = migrate_in(cwd, flags);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("is not the checkpoint of a chroma-migrate run"), std::string::npos)
      << refused.output;
  EXPECT_TRUE(state_of(target_uri()).empty());
  for (const auto& e : std::filesystem::directory_iterator(cwd)) {
    EXPECT_EQ(e.path(), stray) << "written: " << e.path();
  }
}

}  // namespace
}  // namespace cm::testing
