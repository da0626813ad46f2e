// rollback/merge_restore.hpp: the restore in place (its checks and the search for what others
// wrote are in merge_verify.cpp). Runs on one thread: each batch reads the import snapshot, the
// backup (SnapshotStore::get_records, by id) and the target. Memory is O(batch); nothing is held
// per collection but the journal's capped id lists.
#include "rollback/merge_restore.hpp"

#include <chrono>
#include <set>
#include <span>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/base/clock.hpp"
#include "common/store/same_content.hpp"
#include "rollback/records_by_id.hpp"

namespace cm::rollback {
namespace {

using Clock = std::chrono::steady_clock;

// The collection in a snapshot (its CollectionInfo); kCorruption when absent.
Result<CollectionInfo> in_snapshot(SnapshotStore& s, const std::string& name, const char* what) {
  CM_ASSIGN_OR_RETURN(auto found, s.find_collection(name));
  if (!found) {
    return make_error(ErrorCode::kCorruption, std::string("the ") + what + " snapshot " +
                                                  s.dir().string() + " does not hold '" + name +
                                                  "', needed to roll back the merge in place");
  }
  return *found;
}

// The live collection, proven to be the one the plan found (by id).
Result<CollectionInfo> live_collection(VectorStore& target, const MergeItem& item) {
  CM_ASSIGN_OR_RETURN(auto found, target.find_collection(item.name));
  if (!found || (!item.collection_id.empty() && found->id != item.collection_id)) {
    return make_error(
        ErrorCode::kAlreadyExists,
        "merged collection '" + item.name + "' should be collection " + item.collection_id +
            " to be restored in place, but " +
            (found ? "that name holds collection " + found->id : std::string("it is missing")) +
            ": the target changed during the rollback; run chroma-rollback again "
            "after checking it");
  }
  return *found;
}

struct PartResult {
  std::uint64_t deleted = 0, restored = 0, rewritten = 0;
  std::vector<std::string> kept;
};

// One chunk of an import part: classify, delete what the run added, put back what it overwrote.
Status restore_chunk(ExecContext& ctx, std::size_t k, const CollectionInfo& live,
                     const CollectionInfo& backup_info, std::span<const Record> imported,
                     const std::set<std::string>& forced, PartResult& out) {
  const std::string& space = backup_info.hnsw.space;
  std::vector<std::string> ids;
  for (const auto& r : imported) ids.push_back(r.id);
  CM_ASSIGN_OR_RETURN(ById now, fetch_by_id(ctx.target, live, ids));
  CM_ASSIGN_OR_RETURN(ById before, fetch_by_id(*ctx.backup, backup_info, ids));
  std::vector<std::string> to_delete;
  std::vector<Record> to_restore;
  for (const auto& r : imported) {
    const Record* b = lookup(before, r.id);
    switch (classify_merged_record(space, b, &r, lookup(now, r.id), forced.contains(r.id))) {
      case MergeVerdict::kRestore:
        to_restore.push_back(*b);
        break;
      case MergeVerdict::kDeleteAdded:
        to_delete.push_back(r.id);
        break;
      case MergeVerdict::kKeptChanged:
        out.kept.push_back(r.id);
        break;
      default:
        break;
    }
  }
  if (!to_delete.empty()) {
    CM_RETURN_IF_ERROR(ctx.target.delete_records(live, to_delete));
    out.deleted += to_delete.size();
  }
  if (to_restore.empty()) return ok_status();
  std::vector<std::string> restore_ids;
  for (const auto& b : to_restore) restore_ids.push_back(b.id);
  CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
    auto& r = next.merges[k].restoring;
    r.insert(r.end(), restore_ids.begin(), restore_ids.end());
  }));
  CM_RETURN_IF_ERROR(ctx.target.upsert(live, to_restore));
  out.restored += to_restore.size();
  // Chroma kept the keys the backup version lacks: those records are replaced outright.
  CM_ASSIGN_OR_RETURN(ById after, fetch_by_id(ctx.target, live, restore_ids));
  std::vector<Record> rewrite;
  std::vector<std::string> rewrite_ids;
  for (const auto& b : to_restore) {
    const Record* t = lookup(after, b.id);
    if (t && same_content(space, b, *t)) continue;
    rewrite.push_back(b);
    rewrite_ids.push_back(b.id);
  }
  if (rewrite.empty()) return ok_status();
  spdlog::info("{}: {} record(s) kept metadata keys the backup lacks: deleted and upserted again",
               live.name, rewrite.size());
  CM_RETURN_IF_ERROR(ctx.target.delete_records(live, rewrite_ids));
  CM_RETURN_IF_ERROR(ctx.target.upsert(live, rewrite));
  out.rewritten += rewrite.size();
  return ok_status();
}

// Records of the backup the run deleted after its import (a sync carried a deletion at the source
// over): put back when the target still lacks them; one someone else wrote there since is kept and
// listed. Idempotent, so it needs no journal of its own: a re-run finds them restored.
Status restore_deleted(ExecContext& ctx, std::size_t k, const CollectionInfo& live,
                       const CollectionInfo& backup_info) {
  const std::string name = ctx.journal.get().merges[k].name;
  const std::vector<std::string> deleted = ctx.import->deleted_ids(name);
  const std::size_t max_batch = std::max<std::size_t>(1, ctx.max_batch);
  PartResult result;
  for (std::size_t at = 0; at < deleted.size(); at += max_batch) {
    std::span<const std::string> ids(deleted.data() + at, std::min(max_batch, deleted.size() - at));
    CM_ASSIGN_OR_RETURN(ById now, fetch_by_id(ctx.target, live, ids));
    CM_ASSIGN_OR_RETURN(ById before, fetch_by_id(*ctx.backup, backup_info, ids));
    std::vector<Record> to_restore;
    for (const auto& id : ids) {
      const Record* b = lookup(before, id);
      if (!b) continue;  // the run added it and deleted it again: nothing of the backup's
      const Record* t = lookup(now, id);
      if (!t) {
        to_restore.push_back(*b);
      } else if (!same_content(backup_info.hnsw.space, *b, *t)) {
        result.kept.push_back(id);
      }
    }
    if (to_restore.empty()) continue;
    CM_RETURN_IF_ERROR(ctx.target.upsert(live, to_restore));
    result.restored += to_restore.size();
  }
  if (result.restored == 0 && result.kept.empty()) return ok_status();
  spdlog::info("{}: {} record(s) a sync had deleted put back from the backup", live.name,
               result.restored);
  return ctx.journal.update([&](Journal& next) {
    auto& m = next.merges[k];
    m.restored += result.restored;
    for (const auto& id : result.kept) m.kept_changed.add(id);
  });
}

Status restore_records(ExecContext& ctx, std::size_t k, const CollectionInfo& live,
                       const CollectionInfo& backup_info) {
  const MergeItem item = ctx.journal.get().merges[k];
  const std::set<std::string> forced(item.restoring.begin(), item.restoring.end());
  const std::size_t max_batch = std::max<std::size_t>(1, ctx.max_batch);
  for (std::size_t part = 0; part < item.parts; ++part) {
    if (item.parts_done.contains(part)) continue;
    CM_ASSIGN_OR_RETURN(auto records, ctx.import->read_part(item.name, part));
    std::span<const Record> all(records);
    PartResult result;
    for (std::size_t at = 0; at < all.size(); at += max_batch) {
      CM_RETURN_IF_ERROR(restore_chunk(ctx, k, live, backup_info,
                                       all.subspan(at, std::min(max_batch, all.size() - at)),
                                       forced, result));
    }
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      auto& m = next.merges[k];
      m.parts_done.insert(part);
      m.restoring.clear();
      m.deleted_added += result.deleted;
      m.restored += result.restored;
      m.rewritten += result.rewritten;
      for (const auto& id : result.kept) m.kept_changed.add(id);
    }));
  }
  CM_RETURN_IF_ERROR(restore_deleted(ctx, k, live, backup_info));
  return ctx.journal.update(
      [&](Journal& next) { next.merges[k].state = MergeRestoreState::kRecordsRestored; });
}

// Read-only: backup-only ids others changed, and ids in neither snapshot. Recomputed in full by a
// re-run (nothing is journalled until it is complete).
struct Scan {
  IdList others_changed, foreign;
};

Result<Scan> scan_others(VectorStore& target, const CollectionInfo& live, SnapshotStore& backup,
                         const CollectionInfo& backup_info, SnapshotStore& import,
                         const CollectionInfo& import_info, std::size_t max_batch) {
  Scan s;
  // Deleted by a sync of the run: restore_deleted puts them back, they are not others' doing.
  const auto deleted = import.deleted_ids(import_info.name);
  const std::set<std::string> run_deleted(deleted.begin(), deleted.end());
  CM_ASSIGN_OR_RETURN(std::size_t parts, backup.part_count(backup_info.name));
  for (std::size_t part = 0; part < parts; ++part) {
    CM_ASSIGN_OR_RETURN(auto records, backup.read_part(backup_info.name, part));
    for (std::size_t at = 0; at < records.size(); at += max_batch) {
      std::vector<std::string> ids;
      for (std::size_t i = at; i < std::min(records.size(), at + max_batch); ++i)
        ids.push_back(records[i].id);
      CM_ASSIGN_OR_RETURN(ById written, fetch_by_id(import, import_info, ids));
      CM_ASSIGN_OR_RETURN(ById now, fetch_by_id(target, live, ids));
      for (std::size_t i = at; i < std::min(records.size(), at + max_batch); ++i) {
        const auto& b = records[i];
        if (run_deleted.contains(b.id)) continue;
        if (classify_merged_record(backup_info.hnsw.space, &b, lookup(written, b.id),
                                   lookup(now, b.id)) == MergeVerdict::kOthersChanged)
          s.others_changed.add(b.id);
      }
    }
  }
  const auto page = static_cast<std::uint32_t>(std::max<std::size_t>(1, max_batch));
  for (std::uint64_t offset = 0;; offset += page) {
    CM_ASSIGN_OR_RETURN(auto ids, target.list_ids(live, offset, page));
    CM_ASSIGN_OR_RETURN(ById before, fetch_by_id(backup, backup_info, ids));
    CM_ASSIGN_OR_RETURN(ById written, fetch_by_id(import, import_info, ids));
    for (const auto& id : ids) {
      if (!before.contains(id) && !written.contains(id)) s.foreign.add(id);
    }
    if (ids.size() < page) break;
  }
  return s;
}

std::string list_text(const IdList& l) {
  std::string out;
  for (std::size_t i = 0; i < l.ids.size() && i < 5; ++i) out += (i ? ", " : "") + l.ids[i];
  if (l.count > 5) out += fmt::format(", ... ({} in all)", l.count);
  return out;
}

}  // namespace

Record upserted_over(const Record& existing, const Record& incoming) {
  Record out = incoming;
  for (const auto& [key, value] : existing.metadata) out.metadata.try_emplace(key, value);
  if (!out.document) out.document = existing.document;
  if (!out.uri) out.uri = existing.uri;
  return out;
}

MergeVerdict classify_merged_record(const std::string& space, const Record* backup,
                                    const Record* imported, const Record* target, bool forced) {
  if (backup && imported) {
    if (forced || !target || same_content(space, *imported, *target) ||
        same_content(space, upserted_over(*backup, *imported), *target)) {
      // Equal to both (the run wrote what was there): nothing to do unless an upsert may have
      // left stale keys (forced).
      if (!forced && target && same_content(space, *backup, *target)) return MergeVerdict::kDone;
      return MergeVerdict::kRestore;
    }
    return same_content(space, *backup, *target) ? MergeVerdict::kDone : MergeVerdict::kKeptChanged;
  }
  if (imported) {
    if (!target) return MergeVerdict::kDone;
    return same_content(space, *imported, *target) ? MergeVerdict::kDeleteAdded
                                                   : MergeVerdict::kKeptChanged;
  }
  if (backup) {
    return target && same_content(space, *backup, *target) ? MergeVerdict::kDone
                                                           : MergeVerdict::kOthersChanged;
  }
  return MergeVerdict::kDone;  // neither: foreign (listed by the scan), never touched
}

Status restore_merged_in_place(ExecContext& ctx) {
  for (std::size_t k = 0; k < ctx.journal.get().merges.size(); ++k) {
    const MergeItem item = ctx.journal.get().merges[k];
    if (item.state == MergeRestoreState::kRestored) continue;
    if (!ctx.backup || !ctx.import) {
      return make_error(ErrorCode::kCorruption,
                        "'" + item.name +
                            "' is restored in place from the backup and the import snapshot, "
                            "but " +
                            (ctx.backup ? "the import snapshot" : "the backup") +
                            " cannot be opened; nothing more was changed");
    }
    const auto start = Clock::now();
    CM_ASSIGN_OR_RETURN(CollectionInfo backup_info, in_snapshot(*ctx.backup, item.name, "backup"));
    CM_ASSIGN_OR_RETURN(CollectionInfo import_info, in_snapshot(*ctx.import, item.name, "import"));
    CM_ASSIGN_OR_RETURN(CollectionInfo live, live_collection(ctx.target, item));
    if (item.started_at.empty()) {
      CM_ASSIGN_OR_RETURN(std::size_t parts, ctx.import->part_count(item.name));
      CM_ASSIGN_OR_RETURN(std::uint64_t backup_records, ctx.backup->count(backup_info));
      CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
        next.merges[k].parts = parts;
        next.merges[k].backup_records = backup_records;
        next.merges[k].started_at = now_iso8601();
      }));
    }
    spdlog::info("restoring merged collection {} in place, by record (collection {})", item.name,
                 live.id);
    if (ctx.journal.get().merges[k].state == MergeRestoreState::kPending) {
      CM_RETURN_IF_ERROR(restore_records(ctx, k, live, backup_info));
    }
    if (ctx.journal.get().merges[k].state == MergeRestoreState::kRecordsRestored) {
      CM_ASSIGN_OR_RETURN(Scan s, scan_others(ctx.target, live, *ctx.backup, backup_info,
                                              *ctx.import, import_info, ctx.max_batch));
      CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
        next.merges[k].others_changed = s.others_changed;
        next.merges[k].foreign = s.foreign;
        next.merges[k].state = MergeRestoreState::kScanned;
      }));
    }
    // Last, the collection's own metadata (the run added its ledger keys): the backup's, wholesale.
    CM_RETURN_IF_ERROR(ctx.target.update_collection_metadata(live, backup_info.metadata));
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      auto& m = next.merges[k];
      m.state = MergeRestoreState::kRestored;
      m.finished_at = now_iso8601();
      if (auto* l = next.find_live(m.name); l && l->restored_at.empty())
        l->restored_at = m.finished_at;
      next.actions.push_back(
          {.action = ActionKind::kRestoreInPlace,
           .collection = m.name,
           .detail = fmt::format(
               "collection {} kept; {} added record(s) deleted, {} overwritten record(s) put back "
               "({} rewritten for stale metadata keys); kept: {} rewritten by others since the "
               "run, {} written by others only, {} backed-up record(s) changed by others",
               live.id, m.deleted_added, m.restored, m.rewritten, m.kept_changed.count,
               m.foreign.count, m.others_changed.count),
           .at = m.finished_at,
           .seconds = std::chrono::duration<double>(Clock::now() - start).count()});
      if (m.foreign.count)
        spdlog::warn("{}: kept {} record(s) others wrote after the run: {}", m.name,
                     m.foreign.count, list_text(m.foreign));
      if (m.kept_changed.count)
        spdlog::warn("{}: kept {} record(s) the run wrote and others rewrote since: {}", m.name,
                     m.kept_changed.count, list_text(m.kept_changed));
    }));
  }
  return ok_status();
}

}  // namespace cm::rollback
