// An exclusive lock on a run's work directory, held for the life of the object: chroma-migrate (in
// every mode) and chroma-rollback take it before they write anything of the run, so two of them
// never work on one run at once (a cron-started resume racing an operator's rollback, say). It is
// an flock(2) on DIR/.lock: the kernel releases it when the process ends, kill -9 included, so
// there are no stale locks to clean up.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/base/error.hpp"

namespace cm {

class WorkDirLock {
 public:
  // Fails with kAlreadyExists, naming the holder (program and pid), when another process (or
  // another lock object) holds it; kIo when the lock file cannot be opened. The directory must
  // exist.
  static Result<std::unique_ptr<WorkDirLock>> acquire(const std::filesystem::path& work_dir,
                                                      const std::string& program);
  ~WorkDirLock();
  WorkDirLock(const WorkDirLock&) = delete;
  WorkDirLock& operator=(const WorkDirLock&) = delete;

 private:
  explicit WorkDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cm
