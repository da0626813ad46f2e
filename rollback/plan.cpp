#include "rollback/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "common/base/clock.hpp"
#include "common/run/collection_identity.hpp"

namespace cm::rollback {

bool backup_required(const RunManifest& m) {
  if (!m.cutover.retained.empty()) return true;
  return std::any_of(m.target_collections.begin(), m.target_collections.end(), [](const auto& e) {
    return (e.action == LedgerAction::kReplaced || e.action == LedgerAction::kMerged) &&
           (e.state != LedgerState::kPlanned || !e.disrupted_at.empty());
  });
}

namespace {

std::string ledger_key_of(const CollectionInfo& info) {
  auto it = info.metadata.find(kLedgerRunId);
  if (it == info.metadata.end()) return "no " + std::string(kLedgerRunId);
  return std::string(kLedgerRunId) + " " + metadata_to_json({{it->first, it->second}}).dump();
}

class Planner {
 public:
  Planner(VectorStore& target, const RunManifest& m, const SnapshotManifest* backup)
      : target_(target), m_(m), backup_(backup) {}

  Result<Journal> run() {
    j_.run_id = m_.run_id;
    CM_RETURN_IF_ERROR(plan_quarantine_returns());
    for (const auto& e : m_.target_collections) {
      Status planned = !e.staging_name.empty() && m_.cutover.state != CutoverState::kNotStarted
                           ? plan_cut_over(e)
                       : !e.staging_name.empty() ? plan_never_cut(e)
                                                 : plan_in_place(e);
      if (!planned) {
        return std::unexpected(
            std::move(planned).error().with_context("planning the rollback of '" + e.name + "'"));
      }
    }
    CM_RETURN_IF_ERROR(plan_undo_renames());
    for (RollbackPath p : {RollbackPath::kA, RollbackPath::kB, RollbackPath::kC}) {
      if (paths_.contains(p)) j_.paths.push_back(p);
    }
    if (!j_.archive.empty()) j_.archive_state = ArchiveSealState::kPending;
    return j_;
  }

 private:
  std::unexpected<Error> not_ours(const std::string& name, const CollectionInfo& info) const {
    return make_error(ErrorCode::kAlreadyExists,
                      "collection '" + name + "' (id " + info.id + ") is not this run's (" +
                          ledger_key_of(info) + ", expected " + m_.run_id +
                          "): someone else created or replaced it. Nothing was changed; move it "
                          "away, then run chroma-rollback again");
  }
  // The target as it will be after the planned quarantine returns (overlay_), else as it is.
  Result<std::optional<CollectionInfo>> find(const std::string& name) {
    if (auto it = overlay_.find(name); it != overlay_.end()) return it->second;
    return target_.find_collection(name);
  }

  // A crash between a pinned delete's rename and its delete (collection_identity.hpp) leaves the
  // collection the run backed up (in place, replace) or retained (--finalize) under
  // "<live>.quarantine-<run id>". It goes back by id to where it was before the delete began,
  // first, when that name is free; the rest of the plan then sees it there.
  Status plan_quarantine_returns() {
    for (const auto& e : m_.target_collections) {
      std::string pinned_id, home;
      if (e.staging_name.empty() && e.action == LedgerAction::kReplaced) {
        pinned_id = e.backed_up_id;
        home = e.name;
      } else if (!e.staging_name.empty()) {
        for (const auto& s : m_.cutover.steps) {
          if (s.from == e.name) pinned_id = s.collection_id, home = s.to;
        }
      }
      if (pinned_id.empty()) continue;
      const std::string quarantine = quarantine_name_for(e.name, m_.run_id);
      CM_ASSIGN_OR_RETURN(auto held, target_.find_collection(quarantine));
      if (!held || held->id != pinned_id) continue;
      CM_ASSIGN_OR_RETURN(auto at_home, target_.find_collection(home));
      if (at_home) {
        return make_error(ErrorCode::kAlreadyExists,
                          "collection " + pinned_id + " waits under '" + quarantine +
                              "' (a crash interrupted its delete) and must go back to '" + home +
                              "', but that name now holds collection " + at_home->id +
                              ". Nothing was changed; move that collection away, then run "
                              "chroma-rollback again");
      }
      j_.renames.push_back({.collection_id = pinned_id,
                            .from = quarantine,
                            .to = home,
                            .live_name = e.name,
                            .restores_live = home == e.name,
                            .journalled_done = false,
                            .state = RenameState::kPlanned,
                            .done_at = ""});
      CollectionInfo moved = *held;
      moved.name = home;
      overlay_[home] = moved;
      overlay_[quarantine] = std::nullopt;
      returned_.insert(e.name);
    }
    return ok_status();
  }
  const ManifestCollection* backup_of(const std::string& name) const {
    return backup_ ? backup_->find(name) : nullptr;
  }
  Status restore(const std::string& name) {
    const auto* bc = backup_of(name);
    if (!bc) {
      return make_error(ErrorCode::kCorruption,
                        "collection '" + name +
                            "' must be restored, but the backup snapshot does not hold it; "
                            "nothing was changed");
    }
    RestoreItem r;
    r.name = name;
    r.records = bc->record_count;
    r.parts = bc->parts.size();
    j_.restores.push_back(std::move(r));
    j_.equal_to_backup.push_back(name);
    return ok_status();
  }
  void archive(const CollectionInfo& c, const std::string& live, bool restores_live) {
    j_.archive.push_back({.name = c.name,
                          .collection_id = c.id,
                          .live_name = live,
                          .restores_live = restores_live,
                          .state = ArchiveState::kPending,
                          .records = 0,
                          .archived_at = "",
                          .dropped_at = "",
                          .others_checked = false,
                          .others_note = "",
                          .others_wrote = {}});
  }
  void gone(const std::string& name) {
    if (std::find(j_.must_be_gone.begin(), j_.must_be_gone.end(), name) == j_.must_be_gone.end())
      j_.must_be_gone.push_back(name);
  }
  void live(const TargetCollectionEntry& e, RollbackPath path, std::string note,
            std::string disrupted_at) {
    if (path == RollbackPath::kA || path == RollbackPath::kB || path == RollbackPath::kC)
      paths_.insert(path);
    j_.live.push_back({.name = e.name,
                       .action = e.action,
                       .path = path,
                       .note = std::move(note),
                       .disrupted_at = std::move(disrupted_at),
                       .restored_at = ""});
  }

  // Path C: the run wrote `e.name` in place.
  Status plan_in_place(const TargetCollectionEntry& e) {
    CM_ASSIGN_OR_RETURN(auto found, find(e.name));
    const bool never_created = e.state == LedgerState::kPlanned && e.disrupted_at.empty();
    if (e.action == LedgerAction::kCreated) {
      // A shard's ledger also records the server id it created or adopted: another id under the
      // name is not the run's, whatever its metadata says.
      if (found && !e.collection_id.empty() && found->id != e.collection_id) {
        return not_ours(e.name, *found);
      }
      if (found && owned_by_run(*found, m_.run_id)) {
        archive(*found, e.name, true);
        gone(e.name);
        live(e, RollbackPath::kC, "created by the run: archived and dropped", e.disrupted_at);
      } else if (found && e.state == LedgerState::kPlanned) {
        live(e, RollbackPath::kSkipped,
             "never created; the name belongs to someone else (left alone)", "");
      } else if (found) {
        return not_ours(e.name, *found);
      } else if (e.state == LedgerState::kPlanned) {
        live(e, RollbackPath::kSkipped, "never created", "");
      } else {
        gone(e.name);
        live(e, RollbackPath::kC, "created by the run, already gone", e.disrupted_at);
        j_.live.back().restored_at = now_iso8601();
      }
      return ok_status();
    }
    const auto* bc = backup_of(e.name);
    if (found && owned_by_run(*found, m_.run_id) && e.action == LedgerAction::kMerged) {
      // Others may have written into the live collection since: keep it (and its id) and undo
      // the run's records only (merge_restore.hpp).
      if (!bc) {
        return make_error(ErrorCode::kCorruption,
                          "collection '" + e.name +
                              "' must be restored in place, but the backup snapshot does not "
                              "hold it; nothing was changed");
      }
      MergeItem merge;
      merge.name = e.name;
      merge.collection_id = found->id;
      merge.backup_records = bc->record_count;
      j_.merges.push_back(std::move(merge));
      live(e, RollbackPath::kC,
           "merged by the run: restored in place, by record (the collection and its id are kept; "
           "records others wrote are kept and listed)",
           e.disrupted_at);
      return ok_status();
    }
    if (found && owned_by_run(*found, m_.run_id)) {
      archive(*found, e.name, false);
      live(e, RollbackPath::kC,
           std::string(enum_name(e.action)) +
               " by the run: archived, dropped, restored from the backup",
           e.disrupted_at);
      return restore(e.name);
    }
    if (found && returned_.contains(e.name)) {
      live(e, RollbackPath::kC,
           "the pre-run collection, found under its quarantine name (a crash interrupted its "
           "delete): renamed back by id and checked record by record against the backup",
           e.disrupted_at);
      j_.equal_to_backup.push_back(e.name);
      return ok_status();
    }
    if (found) {
      const bool pre_run = (bc && !found->id.empty() && found->id == bc->info.id) || never_created;
      if (!pre_run) return not_ours(e.name, *found);
      live(e, RollbackPath::kUntouched, "the pre-run collection, never written by the run", "");
      if (bc) j_.untouched.push_back(e.name);
      return ok_status();
    }
    if (!bc && never_created) {
      live(e, RollbackPath::kSkipped, "never touched", "");
      return ok_status();
    }
    live(e, RollbackPath::kC, "dropped by the run: restored from the backup", e.disrupted_at);
    return restore(e.name);
  }

  // Path B: staged, never cut over. The live name was never touched.
  Status plan_never_cut(const TargetCollectionEntry& e) {
    CM_ASSIGN_OR_RETURN(auto staged, find(e.staging_name));
    if (staged && !owned_by_run(*staged, m_.run_id)) {
      if (e.state != LedgerState::kPlanned) return not_ours(e.staging_name, *staged);
      live(e, RollbackPath::kSkipped,
           "never created; the staging name belongs to someone else (left alone)", "");
      return ok_status();
    }
    if (staged) archive(*staged, e.name, false);
    if (staged || e.state != LedgerState::kPlanned) gone(e.staging_name);
    live(e, RollbackPath::kB, "staged, never cut over: the live name was never touched", "");
    if (e.action == LedgerAction::kReplaced && backup_of(e.name)) j_.untouched.push_back(e.name);
    return ok_status();
  }

  // Where the collection with `id` is now: `a`, `b`, or nowhere.
  Result<std::optional<CollectionInfo>> locate(const std::string& id, const std::string& a,
                                               const std::string& b) {
    for (const auto* name : {&a, &b}) {
      CM_ASSIGN_OR_RETURN(auto found, find(*name));
      if (found && (id.empty() || found->id == id)) return found;
    }
    return std::optional<CollectionInfo>{};
  }

  // Paths A and C after a cutover started.
  Status plan_cut_over(const TargetCollectionEntry& e) {
    const RenameStep* retain = nullptr;
    const RenameStep* swap = nullptr;
    for (const auto& s : m_.cutover.steps) {
      if (s.from == e.name) retain = &s;
      if (s.from == e.staging_name && s.to == e.name) swap = &s;
    }
    std::optional<CollectionInfo> staged;
    if (swap) {
      CM_ASSIGN_OR_RETURN(staged, locate(swap->collection_id, e.name, e.staging_name));
    } else {
      CM_ASSIGN_OR_RETURN(staged, find(e.staging_name));
    }
    if (staged && !owned_by_run(*staged, m_.run_id)) return not_ours(staged->name, *staged);
    std::optional<CollectionInfo> retained;
    if (retain) {
      CM_ASSIGN_OR_RETURN(retained, locate(retain->collection_id, retain->to, e.name));
    }
    std::string disrupted = e.disrupted_at;
    const bool finalized = m_.cutover.state == CutoverState::kFinalized;
    gone(e.staging_name);
    if (retain) gone(retain->to);
    if (e.action == LedgerAction::kCreated) gone(e.name);
    if (finalized || (retain && !retained)) {
      if (disrupted.empty()) disrupted = m_.cutover.started_at;
      if (staged) archive(*staged, e.name, e.action == LedgerAction::kCreated);
      if (e.action == LedgerAction::kCreated) {
        live(e, RollbackPath::kC, "created by the run and cut over: archived and dropped",
             disrupted);
        return ok_status();
      }
      live(e, RollbackPath::kC,
           "cut over, retained copy gone (finalized): restored from the backup", disrupted);
      return restore(e.name);
    }
    a_entries_.insert(e.name);
    if (staged) {
      CollectionInfo at_staging = *staged;
      at_staging.name = e.staging_name;  // where it will be after the renames are undone
      archive(at_staging, e.name, false);
    }
    live(e, RollbackPath::kA,
         e.action == LedgerAction::kCreated
             ? "cut over: renamed back to its staging name, archived, dropped"
             : "cut over: the retained pre-run collection renamed back",
         disrupted);
    if (e.action != LedgerAction::kCreated && backup_of(e.name))
      j_.equal_to_backup.push_back(e.name);
    return ok_status();
  }

  // The cutover's renames of path-A entries that landed, undone in reverse order.
  Status plan_undo_renames() {
    for (auto it = m_.cutover.steps.rbegin(); it != m_.cutover.steps.rend(); ++it) {
      const auto* e = m_.find_target(it->to);
      if (!e || e->name != it->to) e = m_.find_target(it->from);
      if (!e || !a_entries_.contains(e->name)) continue;
      CM_ASSIGN_OR_RETURN(auto at_to, find(it->to));
      CM_ASSIGN_OR_RETURN(auto at_from, find(it->from));
      const bool landed = at_to && (it->collection_id.empty() || at_to->id == it->collection_id);
      const bool not_landed =
          at_from && (it->collection_id.empty() || at_from->id == it->collection_id);
      if (!landed && !not_landed) {
        return make_error(ErrorCode::kVerifyFailed,
                          "the cutover moved collection " + it->collection_id + " from '" +
                              it->from + "' to '" + it->to +
                              "', but neither name holds it now: the target was changed by "
                              "someone else. Nothing was changed");
      }
      if (!landed) continue;
      const bool retain_step = it->from == e->name;
      UndoRename u{.collection_id = it->collection_id,
                   .from = it->to,
                   .to = it->from,
                   .live_name = e->name,
                   .restores_live = retain_step || e->action == LedgerAction::kCreated,
                   .journalled_done = it->state == RenameState::kDone,
                   .state = RenameState::kPlanned,
                   .done_at = ""};
      j_.renames.push_back(std::move(u));
      if (auto* l = j_.find_live(e->name); l && l->disrupted_at.empty()) {
        l->disrupted_at = it->done_at.empty() ? m_.cutover.started_at : it->done_at;
      }
    }
    // A live name whose renames never landed was never disrupted.
    for (auto& l : j_.live) {
      if (l.path != RollbackPath::kA) continue;
      bool any = std::any_of(j_.renames.begin(), j_.renames.end(),
                             [&](const UndoRename& u) { return u.live_name == l.name; });
      if (!any) l.disrupted_at.clear();
    }
    return ok_status();
  }

  VectorStore& target_;
  const RunManifest& m_;
  const SnapshotManifest* backup_;
  Journal j_;
  std::set<RollbackPath> paths_;
  std::set<std::string> a_entries_;
  std::map<std::string, std::optional<CollectionInfo>> overlay_;
  std::set<std::string> returned_;  // live names whose collection comes back from quarantine
};

}  // namespace

Result<Journal> plan_rollback(VectorStore& target, const RunManifest& m,
                              const SnapshotManifest* backup) {
  return Planner(target, m, backup).run();
}

}  // namespace cm::rollback
