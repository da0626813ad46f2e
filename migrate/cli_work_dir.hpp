// Which work directory a chroma-migrate invocation uses, from the flags operators' runbooks carry:
//   --work-dir D                      D
//   --checkpoint-file F / --resume-from F
//                                     the run F belongs to (F must be the checkpoint.json of a
//                                     run: run.json beside it); the invocation resumes that run
//   none, for a new migration         ./chroma-migrate-<UTC time>, made here and printed, so a
//                                     first try needs no flag beyond --source and --target
// Everything else (--sync, --cutover, --finalize, --resume) needs the run's directory named.
#pragma once

#include <filesystem>

#include "common/base/error.hpp"

namespace cm::migrate {

struct WorkDirChoice {
  std::filesystem::path dir;
  bool resume = false;     // chosen through a checkpoint file: continue that run
  bool defaulted = false;  // made up for a new run: print it
};

// `new_run`: the invocation starts (or resumes) a migration, not a sync, cutover or finalize.
// Errors (kInvalidArgument, exit 2): a checkpoint file that is not a run's, or one together with a
// different --work-dir; no work dir where one is needed.
Result<WorkDirChoice> choose_work_dir(const std::filesystem::path& work_dir,
                                      const std::filesystem::path& checkpoint_file, bool new_run,
                                      bool resume);

}  // namespace cm::migrate
