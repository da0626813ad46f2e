// What chroma-rollback was asked to do (rollback/main.cpp fills it from the command line). Two
// modes: the rollback of a run (work_dir is the run's; rollback/rollback.hpp) and, when
// backup_path is set, the restore of any backup (rollback/backup_restore.hpp; work_dir is its own).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "common/run/store_factory.hpp"
#include "common/store/store_decorators.hpp"

namespace cm::rollback {

struct RollbackOptions {
  std::filesystem::path work_dir;
  std::filesystem::path report;  // --report; default <work dir>/validation_report.json
  bool force = false;            // --force: roll back whatever the report says (needs reason)
  std::string reason;            // --reason
  bool dry_run = false;          // print the plan; change nothing, write nothing
  std::string target_uri;        // --target; default run.json's (unless redacted)
  std::string source_uri;        // --source; default run.json's, for the "source untouched" check
  std::size_t workers = 2;       // requests in flight for archive and restore
  StoreTokens tokens;            // environment; resolved for run.json's source and target
  std::optional<std::string> confirmation;  // MIGRATION_CONFIRM (working targets)
  std::string fault_spec;                   // CHROMA_MIGRATE_FAULTS (tests)
  RetryPolicy retry;
  bool verbose = false, quiet = false;
  // Backup restore mode only.
  std::string backup_path;              // --backup-path: snapshot dir, persist dir or its tarball
  std::string restore_url;              // --restore-url: the target store URI
  std::filesystem::path report_output;  // --report-output: Markdown; the JSON beside it (.json)
};

}  // namespace cm::rollback
