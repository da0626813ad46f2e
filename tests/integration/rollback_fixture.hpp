// Full migrate -> fault -> validate -> rollback cycles against real Chroma servers: the source is
// seeded with the corpus, the target optionally with older data under some of the same names. A
// fault is injected straight into the target through a ChromaHttpStore, so validation fails the
// way it would in production; the rollback must then leave the target exactly as it was before
// the migration, and a fresh migration must validate PASSED.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run/run_manifest.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {

class RollbackIntegration : public MigrateIntegration {
 protected:
  // The source: 4 collections (kb_articles, support_tickets, product_docs, legal_clauses), 240
  // records of dimension 8.
  void SetUp() override;

  // Older data in the target under the first `collections` corpus names (seed 99).
  void seed_target(std::size_t collections, std::size_t records);

  ProcessResult tool(const std::string& binary, std::vector<std::string> args,
                     const std::map<std::string, std::string>& env = {},
                     const std::filesystem::path& work = {}) const;
  ProcessResult validate(const std::filesystem::path& work = {}) const;
  ProcessResult rollback(const std::vector<std::string>& args = {},
                         const std::map<std::string, std::string>& env = {}) const;
  RunManifest manifest() const;
  nlohmann::json rollback_report() const;

  // Faults, straight into the target: one record deleted / one embedding perturbed.
  void delete_one_record(const std::string& collection) const;
  void perturb_one_vector(const std::string& collection) const;
  // Flips one byte in the middle of the first part file of the backup; returns its path.
  std::filesystem::path corrupt_backup_part() const;

  // Every file under `dir` with its size and modification time, one per line.
  static std::string listing(const std::filesystem::path& dir);
  // The end of every cycle: a new run in a fresh work dir validates PASSED.
  void expect_clean_remigration(const std::vector<std::string>& migrate_flags) const;
  // The checks every successful rollback must pass: exit 0, target equal to `before`, source
  // unchanged, report ROLLED_BACK and verified, run.json marked.
  void expect_rolled_back(const ProcessResult& run, const StoreState& before) const;

  StoreState source_before_;
};

}  // namespace cm::testing
