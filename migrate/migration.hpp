// chroma-migrate's engine: runs (or resumes) a migration through the phases
// init -> export -> transform -> import -> verify -> complete, checkpointing as it goes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/run/work_dir.hpp"
#include "migrate/migrate_options.hpp"

namespace cm::migrate {

struct MigrationSummary {
  std::string run_id;
  bool resumed = false;
  std::size_t collections = 0;
  std::uint64_t records = 0;       // records in the migrated data set
  std::uint64_t records_sent = 0;  // upserted by this invocation (0 when nothing was left)
  // Of records_sent, those the pipelined import sent during the export phase
  // (migrate/import_stream.hpp): the export's seconds then include that import.
  std::uint64_t records_sent_during_export = 0;
  double seconds = 0;             // this invocation's wall time
  double records_per_second = 0;  // records_sent / seconds
  std::uint64_t retries = 0;
  bool dry_run = false;  // stopped after the plan; the target was not written
  std::map<std::string, double> phase_seconds;  // phases run by this invocation
  double peak_rss_mb = 0;                       // of this process
  std::filesystem::path work_dir;
  // run.json's unrecoverable_at_source: records of a persist source whose vector was lost before
  // the run, left out (--allow-missing-vectors); not data lost by the migration.
  nlohmann::json unrecoverable_at_source = nlohmann::json::object();
  // migration_summary.html when it was written (nullopt: a warning said why not).
  std::optional<std::filesystem::path> html_page;
  std::string shard;  // "I/N" for a shard of a sharded run (--shard), "" otherwise
};

Result<MigrationSummary> run_migration(const MigrateOptions& options);

// After a --sync: migration_summary.json's "syncs" becomes `syncs` (run.json's) and its HTML page
// is rendered again, so the page shows every sync. Nothing to do when the run has no summary yet.
// Returns the page's path when it was written.
Result<std::optional<std::filesystem::path>> refresh_summary_syncs(const WorkDir& work,
                                                                   const nlohmann::json& syncs);

}  // namespace cm::migrate
