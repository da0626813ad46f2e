#include "migrate/import_targets.hpp"

#include <spdlog/spdlog.h>

#include "common/base/clock.hpp"
#include "common/run/collection_identity.hpp"
#include "common/run/prepare_record.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/merge_write.hpp"
#include "migrate/shard_adopt.hpp"

namespace cm::migrate {

Status set_ledger_state(PhaseContext& ctx, const std::string& name, LedgerState state) {
  return ctx.manifest.update([&](RunManifest& m) { m.find_target(name)->state = state; });
}

namespace {

// Recorded before the run first changes what a live name serves (rollback reports downtime from
// it). Staged runs never touch live names during the import.
Status mark_disrupted(PhaseContext& ctx, const TargetCollectionEntry& entry) {
  if (!entry.staging_name.empty() || !entry.disrupted_at.empty()) return ok_status();
  return ctx.manifest.update([&](RunManifest& m) {
    auto* e = m.find_target(entry.name);
    if (e->disrupted_at.empty()) e->disrupted_at = now_iso8601();
  });
}

// The ledger entry as the target sees it: a staged run writes (and creates) its staging
// collection; the live collection is left alone until the cutover.
TargetCollectionEntry physical(const TargetCollectionEntry& entry) {
  if (entry.staging_name.empty()) return entry;
  TargetCollectionEntry staged = entry;
  staged.name = entry.staging_name;
  staged.action = LedgerAction::kCreated;
  return staged;
}

Result<CollectionInfo> create_target(PhaseContext& ctx, const TargetCollectionEntry& entry,
                                     const CollectionInfo& planned, const RunManifest& manifest) {
  CM_RETURN_IF_ERROR(set_ledger_state(ctx, entry.name, LedgerState::kCreating));
  CollectionSpec spec{planned.name, with_ledger_keys(planned.metadata, manifest), planned.hnsw,
                      planned.configuration};
  auto created = ctx.target.create_collection(spec);
  bool adopted = false;
  if (!created && created.error().code == ErrorCode::kAlreadyExists) {
    // A retried create whose first attempt landed: the ledger key proves it is ours.
    CM_ASSIGN_OR_RETURN(auto existing, ctx.target.find_collection(entry.name));
    if (existing && owned_by_run(*existing, manifest.run_id)) {
      created = *existing;
      adopted = true;
    }
  }
  if (!created) return std::unexpected(std::move(created).error());
  CM_RETURN_IF_ERROR(set_ledger_state(ctx, entry.name, LedgerState::kCreated));
  spdlog::info("created target collection {} (space {})", entry.name, planned.hnsw.space);
  // Shards: an already-existing collection of this run was created by another shard (adopted).
  return adopt_run_collection(ctx, entry.name, *created, !adopted);
}

// --if-exists replace: removes the collection the backup holds, and only that one, only while it
// still holds what the backup holds (collection_identity.hpp: renamed by id to a quarantine name
// journalled first, checked again there, deleted there). A collection under the live name with
// another id (someone re-created it after a crash) or with other content (written after the
// backup) is refused with exit 9 and nothing is deleted: the backup would not hold those writes.
Status replace_pinned(PhaseContext& ctx, const TargetCollectionEntry& entry,
                      const RunManifest& manifest) {
  if (entry.backed_up_id.empty()) {
    return make_error(ErrorCode::kAlreadyExists,
                      "target collection '" + entry.name +
                          "' has no backed-up id in run.json (a run started by an older "
                          "version?); refusing to delete it. Start a new run");
  }
  CM_ASSIGN_OR_RETURN(auto backup,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kBackupSnapshot),
                                         SnapshotStore::Mode::kRead));
  const auto backup_manifest = backup.snapshot->manifest();
  const ManifestCollection* saved = backup_manifest ? backup_manifest->find(entry.name) : nullptr;
  if (!saved) {
    return make_error(ErrorCode::kCorruption,
                      "the backup lacks '" + entry.name + "'; nothing was deleted");
  }
  std::string quarantine = entry.quarantine_name;
  if (quarantine.empty()) {
    quarantine = quarantine_name_for(entry.name, manifest.run_id);
    CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
      auto* e = m.find_target(entry.name);
      e->quarantine_name = quarantine;
      e->state = LedgerState::kCreating;
    }));
  }
  spdlog::info("replacing target collection {} (id {}, backed up in snapshots/backup)", entry.name,
               entry.backed_up_id);
  CM_RETURN_IF_ERROR(mark_disrupted(ctx, entry));
  return delete_collection_pinned(
      ctx.target,
      {.collection_id = entry.backed_up_id,
       .name = entry.name,
       .quarantine = quarantine,
       .expected = CollectionContent{.count = saved->record_count, .digest = saved->content_digest},
       .batch_size = ctx.batch_size});
}

// Finds, creates, replaces or adopts the target collection as the ledger entry says. The ledger
// key in the collection's metadata tells this run's collections from anyone else's, also after a
// crash between a server call and the bookkeeping.
Result<CollectionInfo> prepare_target(PhaseContext& ctx, const TargetCollectionEntry& entry,
                                      const CollectionInfo& planned) {
  const auto manifest = ctx.manifest.get();
  CM_ASSIGN_OR_RETURN(auto existing, ctx.target.find_collection(entry.name));
  const bool ours = existing && owned_by_run(*existing, manifest.run_id);
  if (!manifest.prepared.empty()) {
    // Before the first write: the live collection is still the one --prepare backed up (merge),
    // or nothing / this run's (replace: prepare dropped it). Never the pinned delete here.
    CM_RETURN_IF_ERROR(check_prepared_collection(entry.name, entry.action, entry.backed_up_id,
                                                 existing, manifest.run_id));
  }
  if (existing && existing->hnsw.space != planned.hnsw.space &&
      (ours || entry.action == LedgerAction::kMerged)) {
    return make_error(ErrorCode::kVerifyFailed, "target collection '" + entry.name +
                                                    "' has space " + existing->hnsw.space +
                                                    ", the run needs " + planned.hnsw.space);
  }
  if (entry.action == LedgerAction::kMerged) {
    if (!existing)
      return make_error(ErrorCode::kVerifyFailed,
                        "target collection '" + entry.name + "' to merge into no longer exists");
    if (!ours) {
      CM_RETURN_IF_ERROR(mark_disrupted(ctx, entry));
      CM_RETURN_IF_ERROR(ctx.target.update_collection_metadata(
          *existing, with_ledger_keys(existing->metadata, manifest)));
      existing->metadata = with_ledger_keys(existing->metadata, manifest);
    }
    return *existing;
  }
  if (ours) return adopt_run_collection(ctx, entry.name, *existing, false);
  if (existing) {
    if (entry.action != LedgerAction::kReplaced) {
      return make_error(ErrorCode::kAlreadyExists,
                        "target collection '" + entry.name +
                            "' exists but was not created by this run; refusing to write into it "
                            "(see --if-exists)");
    }
    CM_RETURN_IF_ERROR(replace_pinned(ctx, entry, manifest));
  } else if (entry.action == LedgerAction::kReplaced && !entry.quarantine_name.empty()) {
    // The live name is free: finish a quarantine delete a crash interrupted.
    CM_RETURN_IF_ERROR(replace_pinned(ctx, entry, manifest));
  } else if (entry.state != LedgerState::kPlanned && entry.state != LedgerState::kCreating) {
    return make_error(ErrorCode::kVerifyFailed,
                      "target collection '" + entry.name + "' that this run created (state " +
                          enum_name(entry.state) +
                          ") no longer exists; it was deleted by someone else. Start a new run "
                          "with a fresh --work-dir");
  }
  CM_RETURN_IF_ERROR(mark_disrupted(ctx, entry));
  return create_target(ctx, entry, planned, manifest);
}

// A staged prepared shard writes only its staging collection, but the live name must still hold
// the collection --prepare backed up (the cutover retains it, rollback and --finalize rely on the
// backup holding it): checked before the first write, as an unstaged prepared shard checks its own.
Status check_staged_live(PhaseContext& ctx, const TargetCollectionEntry& entry) {
  const auto manifest = ctx.manifest.get();
  if (manifest.prepared.empty() || entry.staging_name.empty() ||
      entry.action == LedgerAction::kCreated) {
    return ok_status();
  }
  CM_ASSIGN_OR_RETURN(auto live, ctx.target.find_collection(entry.name));
  return check_prepared_collection(entry.name, entry.action, entry.backed_up_id, live,
                                   manifest.run_id, true);
}

}  // namespace

Result<CollectionInfo> prepare_import_target(PhaseContext& ctx, const TargetCollectionEntry& entry,
                                             const CollectionInfo& planned) {
  CM_RETURN_IF_ERROR(check_staged_live(ctx, entry));
  CollectionInfo where = planned;
  where.name = physical(entry).name;
  return prepare_target(ctx, physical(entry), where);
}

Status write_to_target(PhaseContext& ctx, const CollectionInfo& target, LedgerAction action,
                       std::span<const Record> records) {
  for (std::size_t at = 0; at < records.size(); at += ctx.target_max_batch) {
    auto chunk = records.subspan(at, std::min(ctx.target_max_batch, records.size() - at));
    if (action == LedgerAction::kMerged) {
      CM_RETURN_IF_ERROR(merge_chunk(ctx.target, target, chunk));
    } else {
      CM_RETURN_IF_ERROR(ctx.target.upsert(target, chunk));
    }
  }
  return ok_status();
}

}  // namespace cm::migrate
