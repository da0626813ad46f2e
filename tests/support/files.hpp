// File-system assertions shared by integration tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cm::testing {

// Every regular file under `dir` whose bytes contain `needle` (e.g. a token that must never be
// written anywhere in a work directory).
std::vector<std::filesystem::path> files_containing(const std::filesystem::path& dir,
                                                    const std::string& needle);

// Every entry under `dir` (relative path -> "dir", or "<size> <XXH3-64 hex>" for a file, or
// "link -> target"): equal digests mean no file was added, removed, resized or changed.
std::map<std::string, std::string> directory_digest(const std::filesystem::path& dir);

// The JSON document in `file` (a report, run.json, ...); a discarded value (is_discarded()) when
// the file is not JSON, and a failed expectation naming the file when it cannot be read.
nlohmann::json read_json(const std::filesystem::path& file);

// Writes the demo contract (contracts/examples/v2.contract.json) to `file` with its embedding
// dimension 384 replaced by `dimension` (the tests' corpora are small); a failed assertion when
// it cannot.
void write_example_contract(const std::filesystem::path& file, int dimension);

}  // namespace cm::testing
