#include "migrate/cli_work_dir.hpp"

#include "common/base/clock.hpp"
#include "common/run/work_dir.hpp"

namespace cm::migrate {
namespace {

Result<WorkDirChoice> from_checkpoint(const std::filesystem::path& work_dir,
                                      const std::filesystem::path& checkpoint_file) {
  std::error_code ec;
  const auto file = std::filesystem::absolute(checkpoint_file, ec);
  const WorkDir run(file.parent_path());
  if (!std::filesystem::is_regular_file(file, ec) ||
      !std::filesystem::equivalent(file, run.checkpoint(), ec) ||
      !std::filesystem::exists(run.run_manifest(), ec)) {
    return make_error(ErrorCode::kInvalidArgument,
                      checkpoint_file.string() +
                          " is not the checkpoint of a chroma-migrate run (the checkpoint.json in "
                          "a run's work directory, with run.json beside it); give the run's "
                          "--work-dir with --resume instead");
  }
  if (!work_dir.empty() && !std::filesystem::equivalent(work_dir, run.root(), ec)) {
    return make_error(ErrorCode::kInvalidArgument,
                      checkpoint_file.string() + " belongs to the run in " + run.root().string() +
                          ", not to --work-dir " + work_dir.string());
  }
  return WorkDirChoice{.dir = run.root(), .resume = true, .defaulted = false};
}

}  // namespace

Result<WorkDirChoice> choose_work_dir(const std::filesystem::path& work_dir,
                                      const std::filesystem::path& checkpoint_file, bool new_run,
                                      bool resume) {
  if (!checkpoint_file.empty()) return from_checkpoint(work_dir, checkpoint_file);
  if (!work_dir.empty())
    return WorkDirChoice{.dir = work_dir, .resume = resume, .defaulted = false};
  if (!new_run || resume) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--work-dir is required here: name the run's work directory (or its "
                      "checkpoint with --checkpoint-file)");
  }
  // Never an existing directory: a default must not adopt someone else's run.
  const auto stamp = now_compact_stamp();
  std::filesystem::path dir = std::filesystem::current_path() / ("chroma-migrate-" + stamp);
  for (int n = 2; std::filesystem::exists(dir); ++n) {
    dir = std::filesystem::current_path() / ("chroma-migrate-" + stamp + "-" + std::to_string(n));
  }
  return WorkDirChoice{.dir = dir, .resume = false, .defaulted = true};
}

}  // namespace cm::migrate
