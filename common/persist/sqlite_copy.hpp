// A private, consistent copy of a persist directory's chroma.sqlite3, so that nothing ever opens
// the original with SQLite: even a read-only open may create a -shm file or take locks in the
// source directory, and an `immutable` open would miss committed rows still in a -wal file.
//
// The journal mode is read from the database header (bytes 18-19: 1 = rollback journal, what
// Chroma 1.0.5 uses; 2 = WAL). The main file is copied with every companion that exists: -wal
// (committed transactions not yet checkpointed), -journal (a hot journal: SQLite rolls the
// interrupted transaction back on the copy, as it would have on the original) and -shm (only an
// index of the WAL, rebuilt by SQLite anyway; copied so the copy is the complete set). Sizes and
// modification times are compared before and after: a directory that changes while it is copied
// is copied again, and refused after three attempts. Before that, a process holding chroma.sqlite3
// open for writing (a Chroma server still running on the directory) is refused outright
// (common/persist/open_writers.hpp); the size check is what remains for a writer this user cannot
// see.
#pragma once

#include <filesystem>
#include <string>

#include "common/base/error.hpp"

namespace cm {

enum class SqliteJournal { kRollback, kWal };

// A new directory `prefix`-XXXXXX (mode 0700) under `parent`, created (0700) if missing; under the
// system temp directory when `parent` is empty.
Result<std::filesystem::path> make_private_dir(const std::filesystem::path& parent,
                                               const std::string& prefix);

class SqliteCopy {
 public:
  // Copies `persist_dir`/chroma.sqlite3 (and companions) into a new directory made under
  // `scratch_parent` (created 0700 if missing; the system temp directory when empty).
  // Errors: kInvalidArgument when the directory or its chroma.sqlite3 does not exist (not a
  // persist directory); kCorruption when chroma.sqlite3 is not a SQLite 3 database;
  // kAlreadyExists when another process holds it open for writing (a running server: the
  // message names its pid and command); kVerifyFailed when it kept changing during the copy; kIo
  // for file-system failures.
  static Result<SqliteCopy> make(const std::filesystem::path& persist_dir,
                                 const std::filesystem::path& scratch_parent);
  SqliteCopy(SqliteCopy&& other) noexcept;
  SqliteCopy& operator=(SqliteCopy&&) = delete;
  SqliteCopy(const SqliteCopy&) = delete;
  ~SqliteCopy();  // removes the copy's directory

  const std::filesystem::path& database() const { return database_; }
  const std::filesystem::path& directory() const { return dir_; }
  SqliteJournal journal() const { return journal_; }

 private:
  SqliteCopy() = default;
  std::filesystem::path dir_;
  std::filesystem::path database_;
  SqliteJournal journal_ = SqliteJournal::kRollback;
};

}  // namespace cm
