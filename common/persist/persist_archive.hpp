// `persist:backup.tar.gz` / `persist:backup.tar` (also .tgz): a persist directory inside a tar
// archive, as the usual backup makes it (`tar czf backup.tar.gz /path/to/chromadb`), unpacked with
// libarchive into a private directory under the scratch parent (the run's work dir, else the
// system temp directory), never next to the archive, and removed again when the store closes.
//
// Only directories and regular files are unpacked, each checked before anything is written: an
// absolute name, a `..` component or any other kind of entry (links, devices) refuses the whole
// archive (kInvalidArgument: exit 2). The persist directory may sit under leading folders: it is
// the one folder holding chroma.sqlite3; none, or more than one, is kInvalidArgument too. An
// archive that cannot be read (not tar, truncated, a bad gzip stream) is kCorruption (exit 7).
#pragma once

#include <filesystem>
#include <string>

#include "common/base/error.hpp"

namespace cm {

// Whether `path` names an archive by its ending (.tar, .tar.gz, .tgz).
bool is_persist_archive(const std::filesystem::path& path);

class UnpackedArchive {
 public:
  static Result<UnpackedArchive> unpack(const std::filesystem::path& source,
                                        const std::filesystem::path& scratch_parent);
  UnpackedArchive(UnpackedArchive&& other) noexcept;
  UnpackedArchive& operator=(UnpackedArchive&&) = delete;
  UnpackedArchive(const UnpackedArchive&) = delete;
  ~UnpackedArchive();  // removes everything it unpacked

  // The folder holding chroma.sqlite3.
  const std::filesystem::path& persist_dir() const { return persist_dir_; }

 private:
  UnpackedArchive() = default;
  std::filesystem::path root_;
  std::filesystem::path persist_dir_;
};

}  // namespace cm
