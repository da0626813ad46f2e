// Backup: before the first write to a target collection that already exists (--if-exists replace
// or merge), export it into snapshots/backup and verify that snapshot against its manifest.
// Rollback restores from it, so nothing is deleted or written until it verified.
#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/snapshot_store.hpp"
#include "migrate/batch_runner.hpp"
#include "migrate/id_scan.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

Result<std::uint64_t> backup_collection(PhaseContext& ctx, SnapshotStore& backup,
                                        const CollectionInfo& live) {
  // A crash mid-backup leaves a partial copy: start that collection over.
  CM_ASSIGN_OR_RETURN(auto partial, backup.find_collection(live.name));
  if (partial) CM_RETURN_IF_ERROR(backup.delete_collection(live.name));
  CM_ASSIGN_OR_RETURN(CollectionInfo copy, backup.create_collection_from(live));
  const auto scan_file = ctx.work.scan_dir() / ("backup-" + live.name + ".ids");
  CM_ASSIGN_OR_RETURN(auto scan, scan_ids(ctx.target, live, ctx.batch_size, scan_file));
  CM_ASSIGN_OR_RETURN(auto batches, IdBatchFile::open(scan_file));
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    CM_ASSIGN_OR_RETURN(auto ids, batches.batch(i));
    CM_ASSIGN_OR_RETURN(auto records, ctx.target.get_records(live, ids));
    if (records.size() != ids.size()) {
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + live.name + "' changed during its backup");
    }
    CM_RETURN_IF_ERROR(backup.upsert(copy, records));
    return records.size();
  };
  work.completed = [](std::size_t, std::size_t) { return ok_status(); };
  CM_RETURN_IF_ERROR(run_batches(
      batches.batch_count(), [](std::size_t) { return false; }, ctx.options.workers, work));
  return scan.id_count;
}

}  // namespace

Status run_backup(PhaseContext& ctx) {
  auto manifest = ctx.manifest.get();
  if (manifest.backup.contains("verified_at")) return ok_status();
  std::vector<std::string> names;
  for (const auto& e : manifest.target_collections) {
    if (e.action == "replaced" || e.action == "merged") names.push_back(e.name);
  }
  if (names.empty()) return ok_status();
  const auto dir = ctx.work.snapshot(kBackupSnapshot);
  CM_ASSIGN_OR_RETURN(auto backup, SnapshotStore::open(dir, SnapshotStore::Mode::kWrite));
  backup->set_description("backup of " + ctx.target.describe() + " before run " + manifest.run_id);
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto live, ctx.target.find_collection(name));
    if (!live) {
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + name +
                            "' was to be backed up but no longer exists; start a new run");
    }
    spdlog::info("backing up existing target collection {}", name);
    CM_ASSIGN_OR_RETURN(std::uint64_t n, backup_collection(ctx, *backup, *live));
    counts[name] = n;
  }
  CM_RETURN_IF_ERROR(backup->flush());
  CM_ASSIGN_OR_RETURN(auto report, backup->verify());
  if (!report.ok()) {
    std::string problems;
    for (const auto& p : report.problems) problems += "\n  " + p.file + ": " + p.message;
    return make_error(
        ErrorCode::kCorruption,
        "the backup of the target failed verification; nothing was written:" + problems);
  }
  spdlog::info("backup verified: {} ({} collection(s), {} records checked)", dir.string(),
               report.collections_checked, report.records_checked);
  return ctx.manifest.update([&](RunManifest& m) {
    m.backup = {{"path", std::string("snapshots/") + kBackupSnapshot},
                {"collections", counts},
                {"verified_at", now_iso8601()}};
  });
}

}  // namespace cm::migrate
