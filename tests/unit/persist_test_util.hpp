// Shared helpers of the persist-directory unit tests: the committed fixtures
// (tests/data/persist/: a directory written by the real Chroma 1.0.5 server, pickles written by
// Debian's python3) and small file helpers for damaging copies of them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "tests/support/process.hpp"

namespace cm::persist_test {

namespace fs = std::filesystem;

inline fs::path data_dir() {
  return fs::path(CM_SOURCE_DIR) / "tests" / "data" / "persist";
}

inline std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// conformance-1.0.5.tar.gz unpacked into `dir`/persist: the read-only conformance fixture
// (tests/support/store_conformance.hpp, read_only_fixture()).
inline Result<fs::path> unpack_persist_fixture(const fs::path& dir) {
  const auto out = dir / "persist";
  fs::create_directories(out);
  auto tar = cm::testing::run_process(
      "/bin/tar", {"-xzf", (data_dir() / "conformance-1.0.5.tar.gz").string(), "-C", out.string()});
  if (tar.exit_code != 0) return make_error(ErrorCode::kIo, "tar: " + tar.output);
  return out;
}

// Every index_metadata.pickle under `dir`.
inline std::vector<fs::path> pickles_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename() == "index_metadata.pickle") out.push_back(e.path());
  }
  return out;
}

}  // namespace cm::persist_test
