#include "rollback/execute.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "common/base/clock.hpp"
#include "common/base/progress.hpp"
#include "common/run/collection_copy.hpp"
#include "common/run/collection_rename.hpp"
#include "common/run/store_factory.hpp"
#include "rollback/merge_restore.hpp"
#include "rollback/plan.hpp"
#include "rollback/verify.hpp"

namespace cm::rollback {
namespace {

using Clock = std::chrono::steady_clock;

Action action(ActionKind what, std::string collection, std::string detail, std::string at,
              Clock::time_point start) {
  return {.action = what,
          .collection = std::move(collection),
          .detail = std::move(detail),
          .at = std::move(at),
          .seconds = seconds_since(start)};
}

void mark_live_restored(Journal& j, const std::string& live, const std::string& at) {
  if (auto* l = j.find_live(live); l && l->restored_at.empty()) l->restored_at = at;
}

Status archive_pending(ExecContext& ctx) {
  const auto dir = ctx.work.snapshot(WorkDir::kArchiveSnapshot);
  StoreOpenOptions options;
  options.retry = ctx.options.retry;
  options.fault_spec = ctx.options.fault_spec;
  CM_ASSIGN_OR_RETURN(auto archive, open_work_snapshot(dir, SnapshotStore::Mode::kWrite, options));
  const Journal j = ctx.journal.get();
  archive.snapshot->set_description(
      "chroma-rollback archive of run " + j.run_id + " on " + ctx.target.describe() +
      ": the run's collections as they were when rollback dropped them");
  for (std::size_t i = 0; i < j.archive.size(); ++i) {
    const ArchiveItem item = j.archive[i];
    if (item.state != ArchiveState::kPending) continue;
    CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(item.name));
    if (!found || (!item.collection_id.empty() && found->id != item.collection_id)) {
      return make_error(ErrorCode::kVerifyFailed,
                        "collection " + item.collection_id + " should be at '" + item.name +
                            "' to be archived, but " +
                            (found ? "that name holds collection " + found->id : "it is missing") +
                            ": the target changed during the rollback; nothing was dropped");
    }
    const auto start = Clock::now();
    spdlog::info("archiving {} into {}", item.name, dir.string());
    CM_ASSIGN_OR_RETURN(
        std::uint64_t records,
        copy_collection_to_snapshot(ctx.target, *found, archive,
                                    {.batch_size = ctx.max_batch,
                                     .workers = ctx.options.workers,
                                     .scan_file = ctx.work.archive_scan_file(item.name),
                                     .progress_label = "archive " + item.name}));
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.archive[i].state = ArchiveState::kArchived;
      next.archive[i].records = records;
      next.archive[i].archived_at = now_iso8601();
      next.actions.push_back(action(ActionKind::kArchive, item.name,
                                    std::to_string(records) + " records",
                                    next.archive[i].archived_at, start));
    }));
  }
  const auto start = Clock::now();
  CM_RETURN_IF_ERROR(archive.store->flush());
  CM_ASSIGN_OR_RETURN(auto report, archive.snapshot->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption,
                      "the archive " + dir.string() +
                          " failed verification, so nothing was dropped:" + report.problem_lines());
  }
  spdlog::info("archive sealed and verified: {} ({} collection(s), {} records)", dir.string(),
               report.collections_checked, report.records_checked);
  return ctx.journal.update([&](Journal& next) {
    next.archive_state = ArchiveSealState::kSealed;
    next.archive_verified_at = now_iso8601();
    next.actions.push_back(action(ActionKind::kSealArchive, "",
                                  std::to_string(report.collections_checked) + " collection(s), " +
                                      std::to_string(report.records_checked) + " records verified",
                                  next.archive_verified_at, start));
  });
}

}  // namespace

Status undo_renames(ExecContext& ctx) {
  const Journal j = ctx.journal.get();
  for (std::size_t i = 0; i < j.renames.size(); ++i) {
    const UndoRename r = j.renames[i];
    if (r.state == RenameState::kDone) continue;
    const auto start = Clock::now();
    CM_ASSIGN_OR_RETURN(auto outcome,
                        rename_collection_idempotent(ctx.target, r.collection_id, r.from, r.to));
    const bool landed_before = outcome == RenameOutcome::kAlreadyDone;
    spdlog::info("renamed {} -> {}{}", r.from, r.to,
                 landed_before ? " (had landed before a crash)" : "");
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.renames[i].state = RenameState::kDone;
      next.renames[i].done_at = now_iso8601();
      if (r.restores_live) mark_live_restored(next, r.live_name, next.renames[i].done_at);
      next.actions.push_back(action(ActionKind::kRename, r.from,
                                    "-> " + r.to + (landed_before ? " (had landed before)" : ""),
                                    next.renames[i].done_at, start));
    }));
  }
  return ok_status();
}

// What others wrote into the run's collections after the run, found in the sealed archive.
static Status check_archived_for_others(ExecContext& ctx) {
  const Journal j = ctx.journal.get();
  std::unique_ptr<SnapshotStore> archive;
  for (std::size_t i = 0; i < j.archive.size(); ++i) {
    const ArchiveItem& item = j.archive[i];
    // A pre-existing collection was never the run's: "what others wrote" has no meaning for it.
    if (item.others_checked || item.pre_existing || item.state == ArchiveState::kPending) continue;
    IdList others;
    std::string note;
    if (!ctx.import) {
      note = "not checked: the run has no sealed import snapshot to compare with";
    } else {
      if (!archive) {
        // Direct open: read-only part reads of the sealed archive.
        CM_ASSIGN_OR_RETURN(archive,
                            SnapshotStore::open(ctx.work.snapshot(WorkDir::kArchiveSnapshot),
                                                SnapshotStore::Mode::kRead));
      }
      CM_ASSIGN_OR_RETURN(others, records_others_wrote(*archive, item.name, *ctx.import,
                                                       item.live_name, ctx.max_batch));
      if (others.count) {
        spdlog::warn(
            "{}: {} record(s) were written by others after the run (not as the run wrote them); "
            "they are dropped from the target and kept in {}",
            item.name, others.count, ctx.work.snapshot(WorkDir::kArchiveSnapshot).string());
      }
    }
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.archive[i].others_checked = true;
      next.archive[i].others_wrote = others;
      next.archive[i].others_note = note;
    }));
  }
  return ok_status();
}

// A pre-existing collection carries no ledger key: before it is dropped it is proven, by content,
// to be exactly what the sealed archive holds (its id was compared by the caller), so a record
// written to it after it was archived is never lost. Read-only.
static Status prove_archived(ExecContext& ctx, const ArchiveItem& item) {
  // Direct open: manifest and part reads of the sealed archive.
  CM_ASSIGN_OR_RETURN(auto archive,
                      SnapshotStore::open(ctx.work.snapshot(WorkDir::kArchiveSnapshot),
                                          SnapshotStore::Mode::kRead));
  CM_ASSIGN_OR_RETURN(
      auto check, check_equal_to_snapshot(item.name, ctx.target, archive.get(), ctx.options.workers,
                                          ctx.max_batch, "archived"));
  if (check.ok) return ok_status();
  std::string problems;
  for (const auto& p : check.problems) problems += "; " + p;
  return make_error(
      ErrorCode::kAlreadyExists,
      "refusing to drop '" + item.name + "' (collection " + item.collection_id +
          "): it no longer holds what its archive " +
          ctx.work.snapshot(WorkDir::kArchiveSnapshot).string() +
          " holds (written after it was archived?)" + problems +
          ". Nothing was dropped; stop its writers, then run again in a new work dir");
}

Status archive_and_drop(ExecContext& ctx) {
  if (ctx.journal.get().archive.empty()) return ok_status();
  if (ctx.journal.get().archive_state != ArchiveSealState::kSealed)
    CM_RETURN_IF_ERROR(archive_pending(ctx));
  CM_RETURN_IF_ERROR(check_archived_for_others(ctx));
  const Journal j = ctx.journal.get();
  for (std::size_t i = 0; i < j.archive.size(); ++i) {
    const ArchiveItem item = j.archive[i];
    if (item.state == ArchiveState::kDropped) continue;
    const auto start = Clock::now();
    CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(item.name));
    std::string detail = "archived first (" + std::to_string(item.records) + " records)";
    if (!found) {
      detail = "already gone (the drop had landed before a crash)";
    } else if (found->id != item.collection_id ||
               (!item.pre_existing && !owned_by_run(*found, j.run_id))) {
      return make_error(ErrorCode::kAlreadyExists,
                        "refusing to drop '" + item.name + "': it is collection " + found->id +
                            ", not the " + (item.pre_existing ? "" : "run's ") + "collection " +
                            item.collection_id +
                            " that was archived (someone changed the target meanwhile)");
    } else {
      if (item.pre_existing) CM_RETURN_IF_ERROR(prove_archived(ctx, item));
      CM_RETURN_IF_ERROR(ctx.target.delete_collection(item.name));
      spdlog::info("dropped {} (archived first)", item.name);
    }
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.archive[i].state = ArchiveState::kDropped;
      next.archive[i].dropped_at = now_iso8601();
      if (item.restores_live) mark_live_restored(next, item.live_name, next.archive[i].dropped_at);
      // A replaced pre-existing collection stops serving at its drop, until its restore.
      if (auto* l = next.find_live(item.live_name);
          item.pre_existing && found && l && l->disrupted_at.empty())
        l->disrupted_at = next.archive[i].dropped_at;
      next.actions.push_back(
          action(ActionKind::kDrop, item.name, detail, next.archive[i].dropped_at, start));
    }));
  }
  return ok_status();
}

}  // namespace cm::rollback
