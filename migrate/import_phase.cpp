// Import: the import snapshot -> target collections, then verify counts. Target collections are
// created by this run only: the ledger in run.json is updated *before* each create, so a crash in
// between still lets resume recognise (adopt) the collection instead of calling it a conflict.
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "common/base/batch_runner.hpp"
#include "common/base/progress.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "migrate/import_stream.hpp"
#include "migrate/import_targets.hpp"
#include "migrate/merge_write.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

// For a merge, the target ends with the union of what was there and what the run brings.
Result<std::uint64_t> merged_count(PhaseContext& ctx, VectorStore& snapshot,
                                   const std::string& name) {
  CM_ASSIGN_OR_RETURN(
      auto backup, open_work_snapshot(ctx, backup_snapshot_dir(ctx), SnapshotStore::Mode::kRead));
  IdHashSet ids;
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
Result<std::optional<ImportItem>> plan_import(PhaseContext& ctx, WorkSnapshot& snapshot,
                                              const TargetCollectionEntry& entry) {
  CM_ASSIGN_OR_RETURN(auto planned, snapshot.store->find_collection(entry.name));
  if (!planned) return make_error(ErrorCode::kCorruption, "import snapshot lacks " + entry.name);
  CM_ASSIGN_OR_RETURN(CollectionInfo target, prepare_import_target(ctx, entry, *planned));
  if (entry.action == LedgerAction::kMerged) {
    CM_ASSIGN_OR_RETURN(std::uint64_t expected, merged_count(ctx, *snapshot.store, entry.name));
    CM_RETURN_IF_ERROR(ctx.manifest.update(
        [&](RunManifest& m) { m.find_target(entry.name)->expected_records = expected; }));
  }
  CM_ASSIGN_OR_RETURN(std::size_t parts, snapshot.snapshot->part_count(entry.name));
  CM_RETURN_IF_ERROR(ctx.checkpoint.update(
      [&](ckpt::Checkpoint& c) { c.progress(kStageImport, entry.name).total_batches = parts; }));
  const auto checkpoint = ctx.checkpoint.snapshot();
  const auto progress = *checkpoint.find(kStageImport, entry.name);
  if (progress.finished) return std::nullopt;
  ImportItem item{entry, target, parts, progress.done};
  // Parts the pipelined import already sent (import_stream.hpp), found by file name.
  const StreamedParts streamed = streamed_parts(checkpoint, entry.name);
  for (std::size_t i = 0; i < parts && !streamed.files.empty(); ++i) {
    CM_ASSIGN_OR_RETURN(std::string file, snapshot.snapshot->part_file(entry.name, i));
    if (streamed.files.contains(file)) item.done.insert(i);
  }
  return item;
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
  if (ctx.import_rate) ctx.import_rate->start(already);
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    auto [c, i] = plan.locate(g);
    CM_ASSIGN_OR_RETURN(auto records, snapshot.read_part(items[c].entry.name, i));
    CM_RETURN_IF_ERROR(write_to_target(ctx, items[c].target, items[c].entry.action, records));
    sent += records.size();
    return records.size();
  };
  work.completed = [&](std::size_t g, std::size_t records) -> Status {
    auto [c, i] = plan.locate(g);
    bar.advance(records);
    if (ctx.import_rate) ctx.import_rate->add(records);
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
  if (ctx.import_rate) ctx.import_rate->finish();
  CM_RETURN_IF_ERROR(ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
    for (const auto& item : items) cp.progress(kStageImport, item.entry.name).finished = true;
  }));
  for (const auto& item : items)
    CM_RETURN_IF_ERROR(set_ledger_state(ctx, item.entry.name, LedgerState::kImported));
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
    auto item = plan_import(ctx, work, entry);
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
