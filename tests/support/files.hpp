// File-system assertions shared by integration tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace cm::testing {

// Every regular file under `dir` whose bytes contain `needle` (e.g. a token that must never be
// written anywhere in a work directory).
std::vector<std::filesystem::path> files_containing(const std::filesystem::path& dir,
                                                    const std::string& needle);

// Every entry under `dir` (relative path -> "dir", or "<size> <XXH3-64 hex>" for a file, or
// "link -> target"): equal digests mean no file was added, removed, resized or changed.
std::map<std::string, std::string> directory_digest(const std::filesystem::path& dir);

}  // namespace cm::testing
