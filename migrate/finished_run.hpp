// The work directory of a finished migration, opened for one of the invocations that work on it
// afterwards (--sync, --cutover, --finalize): run.json exists, the work dir is locked for this
// invocation, the run was not rolled back, and its migration completed (not a dry run).
#pragma once

#include <filesystem>
#include <memory>

#include "checkpoints/checkpoint.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"

namespace cm::migrate {

struct FinishedRun {
  WorkDir work;
  std::unique_ptr<WorkDirLock> lock;
  std::unique_ptr<RunManifestStore> manifest;
  ckpt::Checkpoint checkpoint;
};

// Refusals: kInvalidArgument when `work_dir` holds no run.json; kConfigMismatch ("<flag> refused
// for run R: ...") when the run was rolled back, its migration is not complete, or it is a shard of
// a sharded run (common/run/shard.hpp).
Result<FinishedRun> open_finished_run(const std::filesystem::path& work_dir, const char* flag);

// The kConfigMismatch refusal of `flag` for `run_id`, with its reason.
std::unexpected<Error> refuse_for_run(const char* flag, const std::string& run_id,
                                      const std::string& why);

}  // namespace cm::migrate
