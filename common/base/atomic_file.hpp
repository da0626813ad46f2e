// Crash-safe file writes: write a temp file in the same directory, fsync it, rename it over the
// destination, fsync the directory. A crash at any point leaves either the old or the new content.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.hpp"

namespace cm {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content);
Result<std::string> read_file(const std::filesystem::path& path);
// Every file these functions create is 0600 and every directory 0700 (the owner's only: work dirs
// hold production data), whatever the umask.
//
// mkdir -p, then fsync the parent so the new directory entry survives a crash. The directories it
// creates are 0700; existing ones are left as they are.
Status ensure_directory(const std::filesystem::path& path);
// chmod 0700 unless `dir` already is owner-only (rwx for the owner, nothing for group/others).
// Returns the mode it had when it was changed.
Result<std::optional<std::filesystem::perms>> restrict_to_owner(const std::filesystem::path& dir);
Status fsync_directory(const std::filesystem::path& dir);

// Streams a large file to a temp name and publishes it atomically on commit(); destroying an
// uncommitted writer removes the temp file, leaving any previous file untouched.
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> open(const std::filesystem::path& path);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  ~AtomicFileWriter();

  Status append(std::string_view data);
  Status commit();  // flush, fsync, rename, fsync dir

 private:
  AtomicFileWriter(std::filesystem::path path, std::filesystem::path tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  Status flush_buffer();
  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  std::string buffer_;
};

// Test hook: when set, write_file_atomic stops after writing+fsyncing the temp file and before the
// rename, returning kCancelled, as a crash at that point would.
void set_atomic_write_crash_before_rename_for_testing(bool enabled);

}  // namespace cm
