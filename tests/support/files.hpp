// File-system assertions shared by integration tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cm::testing {

// Every regular file under `dir` whose bytes contain `needle` (e.g. a token that must never be
// written anywhere in a work directory).
std::vector<std::filesystem::path> files_containing(const std::filesystem::path& dir,
                                                    const std::string& needle);

}  // namespace cm::testing
