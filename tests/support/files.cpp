#include "tests/support/files.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/base/atomic_file.hpp"
#include "common/store/canonical.hpp"

namespace cm::testing {

std::vector<std::filesystem::path> files_containing(const std::filesystem::path& dir,
                                                    const std::string& needle) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (bytes.str().find(needle) != std::string::npos) out.push_back(e.path());
  }
  return out;
}

std::map<std::string, std::string> directory_digest(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = std::filesystem::relative(e.path(), dir).string();
    if (e.is_symlink()) {
      out[name] = "link -> " + std::filesystem::read_symlink(e.path()).string();
    } else if (e.is_directory()) {
      out[name] = "dir";
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      out[name] = std::to_string(bytes.str().size()) + " " + xxh3_64_hex(bytes.str());
    }
  }
  return out;
}

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << "cannot read " << file;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

void write_example_contract(const std::filesystem::path& file, int dimension) {
  auto contract = read_file(std::string(CM_SOURCE_DIR) + "/contracts/examples/v2.contract.json");
  ASSERT_TRUE(contract) << contract.error().message;
  const auto at = contract->find("384");
  ASSERT_NE(at, std::string::npos) << "the example contract no longer names dimension 384";
  contract->replace(at, 3, std::to_string(dimension));
  ASSERT_TRUE(write_file_atomic(file, *contract));
}

}  // namespace cm::testing
