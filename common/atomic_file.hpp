// Crash-safe file writes: write a temp file in the same directory, fsync it, rename it over the
// destination, fsync the directory. A crash at any point leaves either the old or the new content.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cm {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content);
Result<std::string> read_file(const std::filesystem::path& path);
// mkdir -p, then fsync the parent so the new directory entry survives a crash.
Status ensure_directory(const std::filesystem::path& path);
Status fsync_directory(const std::filesystem::path& dir);

// Test hook: when set, write_file_atomic stops after writing+fsyncing the temp file and before the
// rename, returning kCancelled, as a crash at that point would.
void set_atomic_write_crash_before_rename_for_testing(bool enabled);

}  // namespace cm
