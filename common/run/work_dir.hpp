// The layout of a run's work directory, the contract through which chroma-migrate,
// chroma-validate and chroma-rollback cooperate (docs/work-dir.md). Every name in it is spelled
// here and nowhere else:
//
//   .lock                           the work-dir lock (common/run/work_dir_lock.hpp)
//   run.json                        run manifest: run id, configuration, stores, ledger, cutover
//   checkpoint.json                 migrate progress (checkpoints/)
//   scan/<collection>.ids           id scan of a source collection: one JSON array of ids per line,
//                                   line i = batch i
//   scan/backup-<collection>.ids    id scan of an existing target collection being backed up
//   scan/archive-<collection>.ids   id scan of a collection chroma-rollback archives
//   snapshots/source/               the export (docs/snapshot-format.md); validation reference
//   snapshots/transformed/          with --mapping: exactly what the import sends
//   snapshots/backup/               existing target collections before a replace or merge
//   snapshots/archive/              the run's collections as they were when rollback dropped them
//   logs/<program>-<run id>.log     each program's log
//   migration_summary.json          the final figures of the last migrate invocation
//   unrecoverable_at_source.json    persist sources: ids whose vector was lost before the run
//   inputs/mapping.json, inputs/contract.json   copies of the files the run was started with
//   audit.jsonl                     every mutating call on the target
//   plan.json, plan.md              the dry-run plan
//   transform_report.json           routing and skip counts of the transform
//   accepted_drift.json             contract findings the operator accepted at preflight with
//                                   --allow-contract-drift, dangling references listed by record id
//   validation_report.json, validation_report.md   chroma-validate's verdict
//   rollback.json                   chroma-rollback's plan and journal (every step's state)
//   rollback_report.json, rollback_report.md   what chroma-rollback did, timings, verification
//   shards-merged/                  shard 0 of a sharded run: the union of every shard, laid out
//                                   as a work dir, that chroma-validate and chroma-rollback act on
//                                   (common/run/shard_merge.hpp)
//   tmp/                            scratch files of stores that need them (a persist directory's
//                                   private copy of chroma.sqlite3, a persist tarball unpacked),
//                                   removed when the store closes
#pragma once

#include <filesystem>
#include <string>

namespace cm {

class WorkDir {
 public:
  // Snapshot names: folders under snapshots/.
  static constexpr const char* kSourceSnapshot = "source";            // the export
  static constexpr const char* kTransformedSnapshot = "transformed";  // with --mapping
  static constexpr const char* kBackupSnapshot = "backup";            // replaced/merged targets
  static constexpr const char* kArchiveSnapshot = "archive";          // written by chroma-rollback
  // chroma-migrate --sync writes delta generations beside the source and transformed snapshots
  // (snapshots/source.deltas/, common/snapshot/snapshot_generations.hpp).

  explicit WorkDir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path lock_file() const { return root_ / ".lock"; }
  std::filesystem::path run_manifest() const { return root_ / "run.json"; }
  std::filesystem::path checkpoint() const { return root_ / "checkpoint.json"; }
  std::filesystem::path scan_dir() const { return root_ / "scan"; }
  std::filesystem::path scan_file(const std::string& collection) const {
    return scan_dir() / (collection + ".ids");
  }
  std::filesystem::path snapshots_dir() const { return root_ / kSnapshotsDir; }
  std::filesystem::path snapshot(const std::string& name) const { return snapshots_dir() / name; }
  // A snapshot's path relative to the root, as run.json records it (import_snapshot, backup
  // "path"): "snapshots/<name>". Kept in that form so older run.json files still load.
  static std::string snapshot_relative(const std::string& name) {
    return std::string(kSnapshotsDir) + "/" + name;
  }
  // A path recorded relative to the root (snapshot_relative) as an absolute one.
  std::filesystem::path resolve(const std::string& relative) const { return root_ / relative; }
  std::filesystem::path logs_dir() const { return root_ / "logs"; }
  std::filesystem::path log_file(const std::string& program, const std::string& run_id) const {
    return logs_dir() / (program + "-" + run_id + ".log");
  }
  std::filesystem::path migration_summary() const { return root_ / "migration_summary.json"; }
  // Every id of a persist source left out for a lost vector (run.json unrecoverable_at_source).
  std::filesystem::path unrecoverable_at_source() const {
    return root_ / "unrecoverable_at_source.json";
  }
  // Copies of the --mapping / --contract files the run was started with (validation reads them).
  std::filesystem::path mapping_copy() const { return root_ / "inputs" / "mapping.json"; }
  std::filesystem::path contract_copy() const { return root_ / "inputs" / "contract.json"; }
  std::filesystem::path audit_log() const { return root_ / "audit.jsonl"; }
  // chroma-migrate --dry-run.
  std::filesystem::path plan_json() const { return root_ / "plan.json"; }
  std::filesystem::path plan_md() const { return root_ / "plan.md"; }
  std::filesystem::path transform_report() const { return root_ / "transform_report.json"; }
  // The contract preflight's findings accepted with --allow-contract-drift (validation matches the
  // dangling references it lists, by collection, key, record id and value).
  std::filesystem::path accepted_drift() const { return root_ / "accepted_drift.json"; }
  // chroma-validate's default report (its .md is written beside it).
  std::filesystem::path validation_report() const { return root_ / "validation_report.json"; }
  std::filesystem::path validation_report_md() const { return root_ / "validation_report.md"; }
  // chroma-rollback: its journal (resumable plan), its reports, and the id scans of the archive.
  std::filesystem::path rollback_journal() const { return root_ / "rollback.json"; }
  // Sharded runs: the shards merged into one work dir, under shard 0's (shard_merge.hpp).
  std::filesystem::path shards_merged() const { return root_ / "shards-merged"; }
  std::filesystem::path rollback_report() const { return root_ / "rollback_report.json"; }
  std::filesystem::path rollback_report_md() const { return root_ / "rollback_report.md"; }
  // Scratch space of stores (StoreOpenOptions::scratch_dir): each makes and removes its own
  // sub-directory.
  std::filesystem::path scratch_dir() const { return root_ / "tmp"; }
  // chroma-migrate's backup of an existing target collection.
  std::filesystem::path backup_scan_file(const std::string& collection) const {
    return scan_dir() / ("backup-" + collection + ".ids");
  }
  std::filesystem::path archive_scan_file(const std::string& collection) const {
    return scan_dir() / ("archive-" + collection + ".ids");
  }

 private:
  static constexpr const char* kSnapshotsDir = "snapshots";
  std::filesystem::path root_;
};

}  // namespace cm
