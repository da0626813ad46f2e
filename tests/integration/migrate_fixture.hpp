// Shared set-up for chroma-migrate integration tests: one real source and one real target Chroma
// server per test binary; every test works in its own databases on them, so tests are isolated
// without restarting servers.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/run/store_factory.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/store_state.hpp"
#include "tools/corpus.hpp"

namespace cm::testing {

class MigrateIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // "http://127.0.0.1:P?database=<test name>_<suffix>"
  std::string source_uri() const { return db_uri(*source_server_, "src"); }
  std::string target_uri(const std::string& suffix = "dst") const {
    return db_uri(*target_server_, suffix);
  }
  std::unique_ptr<VectorStore> open(const std::string& uri) const;
  void seed(const std::string& uri, const corpus::CorpusOptions& options) const;
  StoreState state_of(const std::string& uri) const;
  // A collection of someone else's in the target ("bystander", one record): a run never touches it.
  void seed_bystander() const;

  // Runs the real chroma-migrate binary with --source/--target/--work-dir filled in.
  ProcessResult migrate(const std::vector<std::string>& extra,
                        const std::map<std::string, std::string>& env = {},
                        const std::function<void(pid_t)>& while_running = {}) const;
  std::filesystem::path work_dir() const { return dir_ / "work"; }
  // Runs scripts/cutover.sh --source S --target T --work-dir work_dir() ARGS with this build's
  // binaries (CHROMA_BIN_DIR) and `env`.
  ProcessResult cutover_script(const std::string& source, const std::string& target,
                               const std::vector<std::string>& args,
                               std::map<std::string, std::string> env = {}) const;
  // The target server itself, to kill and restart it (each ctest test is its own process, with
  // its own servers).
  static ChromaServer& target_server() { return *target_server_; }

  std::filesystem::path dir_;

 private:
  std::string db_uri(const ChromaServer& server, const std::string& suffix) const;
  static inline std::unique_ptr<ChromaServer> source_server_;
  static inline std::unique_ptr<ChromaServer> target_server_;
};

}  // namespace cm::testing
