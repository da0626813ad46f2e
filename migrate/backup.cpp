// Backup: before the first write to a target collection that already exists (--if-exists replace
// or merge), export it into snapshots/backup and verify that snapshot against its manifest.
// Rollback restores from it, so nothing is deleted or written until it verified.
#include <spdlog/spdlog.h>

#include <map>

#include "common/base/clock.hpp"
#include "common/run/collection_copy.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

Result<std::uint64_t> backup_collection(PhaseContext& ctx, WorkSnapshot& backup,
                                        const CollectionInfo& live) {
  return copy_collection_to_snapshot(ctx.target, live, backup,
                                     {.batch_size = ctx.batch_size,
                                      .workers = ctx.options.workers,
                                      .scan_file = ctx.work.backup_scan_file(live.name),
                                      .progress_label = "backup " + live.name});
}

}  // namespace

std::filesystem::path backup_snapshot_dir(const PhaseContext& ctx) {
  const auto manifest = ctx.manifest.get();
  if (manifest.prepared.empty()) return ctx.work.snapshot(WorkDir::kBackupSnapshot);
  return WorkDir(manifest.prepared).snapshot(WorkDir::kBackupSnapshot);
}

Status run_backup(PhaseContext& ctx) {
  auto manifest = ctx.manifest.get();
  if (manifest.backup.contains("verified_at")) return ok_status();
  // A prepared shard: --prepare took the one backup every shard shares (prepare.hpp).
  if (!manifest.prepared.empty()) return ok_status();
  std::vector<std::string> names;
  for (const auto& e : manifest.target_collections) {
    if (e.action == LedgerAction::kReplaced || e.action == LedgerAction::kMerged)
      names.push_back(e.name);
  }
  if (names.empty()) return ok_status();
  const auto dir = ctx.work.snapshot(WorkDir::kBackupSnapshot);
  CM_ASSIGN_OR_RETURN(auto backup, open_work_snapshot(ctx, dir, SnapshotStore::Mode::kWrite));
  backup.snapshot->set_description("backup of " + ctx.target.describe() + " before run " +
                                   manifest.run_id);
  nlohmann::json counts = nlohmann::json::object();
  std::map<std::string, std::string> ids;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto live, ctx.target.find_collection(name));
    if (!live) {
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + name +
                            "' was to be backed up but no longer exists; start a new run");
    }
    spdlog::info("backing up existing target collection {}", name);
    CM_ASSIGN_OR_RETURN(std::uint64_t n, backup_collection(ctx, backup, *live));
    counts[name] = n;
    ids[name] = live->id;
  }
  CM_RETURN_IF_ERROR(backup.store->flush());
  CM_ASSIGN_OR_RETURN(auto report, backup.snapshot->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption,
                      "the backup of the target failed verification; nothing was written:" +
                          report.problem_lines());
  }
  spdlog::info("backup verified: {} ({} collection(s), {} records checked)", dir.string(),
               report.collections_checked, report.records_checked);
  return ctx.manifest.update([&](RunManifest& m) {
    for (auto& e : m.target_collections)
      if (auto it = ids.find(e.name); it != ids.end()) e.backed_up_id = it->second;
    m.backup = {{"path", WorkDir::snapshot_relative(WorkDir::kBackupSnapshot)},
                {"collections", counts},
                {"verified_at", now_iso8601()}};
  });
}

}  // namespace cm::migrate
