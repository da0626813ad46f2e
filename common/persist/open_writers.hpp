// Which processes hold a file open for writing: how a persist source finds a Chroma server still
// running on its directory. The server (1.0.x, checked on the pinned build) keeps chroma.sqlite3
// open read-write for its whole life, but holds no SQLite lock while idle (rollback-journal mode),
// so a lock probe would not see it; its open file descriptors do.
//
// Linux only: reads /proc/<pid>/fd and /proc/<pid>/fdinfo, never opens the files themselves.
// Processes this user may not inspect (another user's, without privileges) are not seen; for those
// the copy of chroma.sqlite3 still refuses a database that changes while it is copied
// (common/persist/sqlite_copy.hpp). Read-only holders (another migration copying the same
// directory, a `sqlite3 -readonly` shell) are not writers and are not reported.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace cm {

struct OpenWriter {
  pid_t pid = 0;
  std::string command;  // /proc/<pid>/cmdline with spaces between the arguments (may be empty)
  std::filesystem::path file;  // which of the files it holds
};

// Every other process that has one of `files` (compared by device and inode, so a server in
// another mount namespace is found too) open with write access. Files that do not exist are
// skipped. Never fails: what cannot be read is not reported.
std::vector<OpenWriter> find_open_writers(const std::vector<std::filesystem::path>& files);

}  // namespace cm
