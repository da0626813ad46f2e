// The layout of a run's work directory, the contract through which chroma-migrate,
// chroma-validate and chroma-rollback cooperate (docs/work-dir.md):
//
//   run.json                run manifest: run id, configuration, stores, target-collection ledger
//   checkpoint.json         migrate progress (checkpoints/)
//   scan/<collection>.ids   id scan of a source collection: one JSON array of ids per batch, per
//   line snapshots/source/       the export (docs/snapshot-format.md); validation reference
//   logs/<program>-<run id>.log
//   migration_summary.json  the final figures of the last migrate invocation
//   inputs/mapping.json, inputs/contract.json   copies of the files the run was started with
//   audit.jsonl             every mutating call on the target
//   plan.json, plan.md      the dry-run plan; transform_report.json   routing and skip counts
//   rollback.json           chroma-rollback's plan and journal (every step's state)
//   rollback_report.json, rollback_report.md   what chroma-rollback did, timings, verification
//   snapshots/archive/      the run's collections as they were when rollback dropped them
#pragma once

#include <filesystem>
#include <string>

namespace cm {

class WorkDir {
 public:
  explicit WorkDir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path run_manifest() const { return root_ / "run.json"; }
  std::filesystem::path checkpoint() const { return root_ / "checkpoint.json"; }
  std::filesystem::path scan_dir() const { return root_ / "scan"; }
  std::filesystem::path scan_file(const std::string& collection) const {
    return scan_dir() / (collection + ".ids");
  }
  std::filesystem::path snapshot(const std::string& name) const {
    return root_ / "snapshots" / name;
  }
  std::filesystem::path logs_dir() const { return root_ / "logs"; }
  std::filesystem::path log_file(const std::string& program, const std::string& run_id) const {
    return logs_dir() / (program + "-" + run_id + ".log");
  }
  std::filesystem::path migration_summary() const { return root_ / "migration_summary.json"; }
  // Copies of the --mapping / --contract files the run was started with (validation reads them).
  std::filesystem::path mapping_copy() const { return root_ / "inputs" / "mapping.json"; }
  std::filesystem::path contract_copy() const { return root_ / "inputs" / "contract.json"; }
  std::filesystem::path audit_log() const { return root_ / "audit.jsonl"; }
  std::filesystem::path validation_report() const { return root_ / "validation_report.json"; }
  // chroma-rollback: its journal (resumable plan), its reports, and the id scans of the archive.
  std::filesystem::path rollback_journal() const { return root_ / "rollback.json"; }
  std::filesystem::path rollback_report() const { return root_ / "rollback_report.json"; }
  std::filesystem::path rollback_report_md() const { return root_ / "rollback_report.md"; }
  std::filesystem::path archive_scan_file(const std::string& collection) const {
    return scan_dir() / ("archive-" + collection + ".ids");
  }

  static constexpr const char* kSourceSnapshot = "source";
  static constexpr const char* kArchiveSnapshot = "archive";  // written by chroma-rollback

 private:
  std::filesystem::path root_;
};

}  // namespace cm
