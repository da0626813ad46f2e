// Import: the import snapshot -> target collections, then verify counts. Target collections are
// created by this run only: the ledger in run.json is updated *before* each create, so a crash in
// between still lets resume recognise (adopt) the collection instead of calling it a conflict.
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "common/base/batch_runner.hpp"
#include "common/base/clock.hpp"
#include "common/base/progress.hpp"
#include "common/run/collection_identity.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "migrate/merge_write.hpp"
#include "migrate/phase_context.hpp"
#include "migrate/shard_adopt.hpp"

namespace cm::migrate {
namespace {

Status set_state(PhaseContext& ctx, const std::string& name, LedgerState state) {
  return ctx.manifest.update([&](RunManifest& m) { m.find_target(name)->state = state; });
}

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
  CM_RETURN_IF_ERROR(set_state(ctx, entry.name, LedgerState::kCreating));
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
  CM_RETURN_IF_ERROR(set_state(ctx, entry.name, LedgerState::kCreated));
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

// For a merge, the target ends with the union of what was there and what the run brings.
Result<std::uint64_t> merged_count(PhaseContext& ctx, VectorStore& snapshot,
                                   const std::string& name) {
  CM_ASSIGN_OR_RETURN(auto backup,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kBackupSnapshot),
                                         SnapshotStore::Mode::kRead));
  std::unordered_set<IdHash, IdHashHasher> ids;
  for (VectorStore* store : {backup.store.get(), &snapshot}) {
    CM_ASSIGN_OR_RETURN(auto info, store->find_collection(name));
    if (!info) continue;
    for (std::uint64_t offset = 0;; offset += 10000) {
      CM_ASSIGN_OR_RETURN(auto page, store->list_ids(*info, offset, 10000));
      for (const auto& id : page) ids.insert(id_hash(id));
      if (page.size() < 10000) break;
    }
  }
  return ids.size();
}

// One target collection's share of the import, ready to run.
struct ImportItem {
  TargetCollectionEntry entry;
  CollectionInfo target;
  std::size_t parts = 0;
  ckpt::BatchSet done;
};

// Creates or adopts the target collection and plans its batches; nullopt when already imported.
Result<std::optional<ImportItem>> plan_collection(PhaseContext& ctx, WorkSnapshot& snapshot,
                                                  const TargetCollectionEntry& entry) {
  CM_ASSIGN_OR_RETURN(auto planned, snapshot.store->find_collection(entry.name));
  if (!planned) return make_error(ErrorCode::kCorruption, "import snapshot lacks " + entry.name);
  CollectionInfo where = *planned;
  where.name = physical(entry).name;
  CM_ASSIGN_OR_RETURN(CollectionInfo target, prepare_target(ctx, physical(entry), where));
  if (entry.action == LedgerAction::kMerged) {
    CM_ASSIGN_OR_RETURN(std::uint64_t expected, merged_count(ctx, *snapshot.store, entry.name));
    CM_RETURN_IF_ERROR(ctx.manifest.update(
        [&](RunManifest& m) { m.find_target(entry.name)->expected_records = expected; }));
  }
  CM_ASSIGN_OR_RETURN(std::size_t parts, snapshot.snapshot->part_count(entry.name));
  CM_RETURN_IF_ERROR(ctx.checkpoint.update(
      [&](ckpt::Checkpoint& c) { c.progress(kStageImport, entry.name).total_batches = parts; }));
  const auto progress = *ctx.checkpoint.snapshot().find(kStageImport, entry.name);
  if (progress.finished) return std::nullopt;
  return ImportItem{entry, target, parts, progress.done};
}

// Upserts every planned snapshot part, all collections behind one queue. Returns records sent.
Result<std::uint64_t> import_batches(PhaseContext& ctx, SnapshotStore& snapshot,
                                     const std::vector<ImportItem>& items) {
  BatchPlan plan;
  std::uint64_t total = 0, already = 0;
  for (const auto& item : items) {
    plan.add(item.parts);
    total += item.entry.expected_records;
    already +=
        std::min<std::uint64_t>(item.done.size() * ctx.batch_size, item.entry.expected_records);
  }
  std::atomic<std::uint64_t> sent{0};
  Progress bar("import", total, already);
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    auto [c, i] = plan.locate(g);
    CM_ASSIGN_OR_RETURN(auto records, snapshot.read_part(items[c].entry.name, i));
    std::span<const Record> all(records);
    for (std::size_t at = 0; at < all.size(); at += ctx.target_max_batch) {
      auto chunk = all.subspan(at, std::min(ctx.target_max_batch, all.size() - at));
      if (items[c].entry.action == LedgerAction::kMerged) {
        CM_RETURN_IF_ERROR(merge_chunk(ctx.target, items[c].target, chunk));
      } else {
        CM_RETURN_IF_ERROR(ctx.target.upsert(items[c].target, chunk));
      }
    }
    sent += records.size();
    return records.size();
  };
  work.completed = [&](std::size_t g, std::size_t records) -> Status {
    auto [c, i] = plan.locate(g);
    bar.advance(records);
    return ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
      cp.progress(kStageImport, items[c].entry.name).done.insert(i);
    });
  };
  auto already_done = [&](std::size_t g) {
    auto [c, i] = plan.locate(g);
    return items[c].done.contains(i);
  };
  CM_RETURN_IF_ERROR(run_batches(plan.total(), already_done, ctx.options.workers, work));
  bar.finish();
  CM_RETURN_IF_ERROR(ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
    for (const auto& item : items) cp.progress(kStageImport, item.entry.name).finished = true;
  }));
  for (const auto& item : items)
    CM_RETURN_IF_ERROR(set_state(ctx, item.entry.name, LedgerState::kImported));
  return sent.load();
}

}  // namespace

// Writes one chunk into a collection that held records before the run, so that each record ends
// exactly as transformed and no pre-existing record is ever removed before its replacement was
// acknowledged: a refused upsert (4xx) leaves every record of the collection as it was.
//  1. read the current versions of the chunk's ids (what a merge overwrites);
//  2. upsert the chunk (Chroma merges metadata keys and keeps a document or uri the new record
//     lacks);
//  3. remove the stale metadata keys (in the old record, absent from the new one) with `update`
//     setting them to null;
//  4. a record whose old version had a document (or uri) and whose new version has none cannot be
//     reset by upsert or update (null means "unchanged" to both): only those records are deleted
//     and upserted again, after their replacement was acknowledged once. A crash between that
//     delete and that upsert leaves them missing until --resume repeats the batch (the checkpoint
//     records it only after this returns); the backup holds their old version.
Status merge_chunk(VectorStore& target, const CollectionInfo& collection,
                   std::span<const Record> chunk) {
  std::vector<std::string> ids;
  ids.reserve(chunk.size());
  for (const auto& r : chunk) ids.push_back(r.id);
  CM_ASSIGN_OR_RETURN(auto existing, target.get_records(collection, ids));
  std::unordered_map<std::string, const Record*> old_by_id;
  for (const auto& r : existing) old_by_id.emplace(r.id, &r);
  CM_RETURN_IF_ERROR(target.upsert(collection, chunk));
  std::vector<MetadataKeyRemoval> stale;
  std::vector<Record> rewritten_whole;
  for (const auto& r : chunk) {
    auto it = old_by_id.find(r.id);
    if (it == old_by_id.end()) continue;
    const Record& before = *it->second;
    if ((before.document && !r.document) || (before.uri && !r.uri)) {
      rewritten_whole.push_back(r);
      continue;  // rewritten whole below: no stale key survives that
    }
    MetadataKeyRemoval removal{.id = r.id, .keys = {}};
    for (const auto& [key, value] : before.metadata)
      if (!r.metadata.contains(key)) removal.keys.push_back(key);
    if (!removal.keys.empty()) stale.push_back(std::move(removal));
  }
  if (!stale.empty()) CM_RETURN_IF_ERROR(target.remove_metadata_keys(collection, stale));
  if (!rewritten_whole.empty()) {
    std::vector<std::string> rewritten_ids;
    for (const auto& r : rewritten_whole) rewritten_ids.push_back(r.id);
    CM_RETURN_IF_ERROR(target.delete_records(collection, rewritten_ids));
    CM_RETURN_IF_ERROR(target.upsert(collection, rewritten_whole));
  }
  return ok_status();
}

Result<std::uint64_t> run_import_phase(PhaseContext& ctx) {
  CM_RETURN_IF_ERROR(run_backup(ctx));
  const auto manifest = ctx.manifest.get();
  CM_ASSIGN_OR_RETURN(auto work, open_work_snapshot(ctx, ctx.work.resolve(manifest.import_snapshot),
                                                    SnapshotStore::Mode::kRead));
  // Cheap insurance: the snapshot is re-read from disk before anything is sent.
  CM_ASSIGN_OR_RETURN(auto report, work.snapshot->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption,
                      "import snapshot failed verification:" + report.problem_lines());
  }
  std::vector<ImportItem> items;
  for (const auto& entry : manifest.target_collections) {
    auto item = plan_collection(ctx, work, entry);
    if (!item)
      return std::unexpected(
          std::move(item).error().with_context("importing '" + entry.name + "'"));
    if (*item) items.push_back(std::move(**item));
  }
  CM_ASSIGN_OR_RETURN(std::uint64_t sent, import_batches(ctx, *work.snapshot, items));
  CM_RETURN_IF_ERROR(ctx.target.flush());
  CM_RETURN_IF_ERROR(
      ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kVerify; }));
  return sent;
}

}  // namespace cm::migrate
