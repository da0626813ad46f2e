// What every migrate phase works with. Phases are resumable: each reads the checkpoint to skip
// finished work and records its own progress before returning.
#pragma once

#include <cstddef>

#include "checkpoints/checkpoint.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/store/audit_log.hpp"
#include "common/store/store_decorators.hpp"
#include "common/store/vector_store.hpp"
#include "contracts/contract.hpp"
#include "contracts/mapping.hpp"
#include "migrate/import_rate.hpp"
#include "migrate/migrate_options.hpp"

namespace cm::migrate {

struct PhaseContext {
  const MigrateOptions& options;
  WorkDir work;
  VectorStore& source;
  VectorStore& target;
  ckpt::CheckpointStore& checkpoint;
  RunManifestStore& manifest;
  StoreCounters& counters;
  std::size_t batch_size;  // effective, fixed at init and kept in the checkpoint
  std::size_t target_max_batch;
  const contracts::Mapping* mapping = nullptr;    // nullptr: identity transform
  const contracts::Contract* contract = nullptr;  // nullptr: no contract checks
  std::shared_ptr<AuditLog> audit;                // records overrides too, not only store calls
  PersistStore* persist =
      nullptr;  // the source's persist store (a persist:DIR source), for the plan
  // Samples of the import's progress for migration_summary.json; nullptr: not recorded.
  ImportRate* import_rate = nullptr;
};

// The run ledger keys (kLedgerRunId, ...) are in common/run/run_manifest.hpp.
Metadata with_ledger_keys(Metadata metadata, const RunManifest& manifest);

// A snapshot of the work directory (WorkDir::snapshot) through the store factory (role "work":
// fault injection, retry, logging), with the run's retry policy and CHROMA_MIGRATE_FAULTS.
Result<WorkSnapshot> open_work_snapshot(const PhaseContext& ctx, const std::filesystem::path& dir,
                                        SnapshotStore::Mode mode);

// Stage names used in the checkpoint.
inline constexpr const char* kStageScan = "scan";
inline constexpr const char* kStageExport = "export";
inline constexpr const char* kStageImport = "import";
inline constexpr const char* kStageTransform = "transform";
inline constexpr const char* kStageBackup = "backup";
// Snapshot names (source, transformed, backup) are WorkDir's.

// Returns the records the pipelined import (import_stream.hpp) sent meanwhile (0 when not
// pipelined).
Result<std::uint64_t> run_export_phase(PhaseContext& ctx);
Status run_transform_phase(PhaseContext& ctx);
// Returns the records sent to the target by this invocation.
Result<std::uint64_t> run_import_phase(PhaseContext& ctx);
Status run_verify_phase(PhaseContext& ctx);

// Contract checks: before any write on the import snapshot (and existing merge targets), after the
// import on what landed. Findings fail with kContractViolation, or with --allow-contract-drift are
// logged, recorded in run.json and the audit log, and let the run go on.
Status run_preflight(PhaseContext& ctx);
Status run_postflight(PhaseContext& ctx);
// Exports every existing target collection the run will replace or merge into snapshots/backup and
// verifies it, before the first target write. Resumable per collection.
Status run_backup(PhaseContext& ctx);
// Where the run's backup snapshot is: snapshots/backup of the work dir, or for a prepared shard
// (run.json "prepared") that of the prepared dir.
std::filesystem::path backup_snapshot_dir(const PhaseContext& ctx);
// The dry-run plan (plan.json, plan.md) from the sealed import snapshot.
Status write_plan(PhaseContext& ctx, double export_seconds);

}  // namespace cm::migrate
