// chroma-migrate --sync, one source collection: compare with the run's snapshot, screen and
// apply the changes to the run's targets, record them in the snapshot deltas (sync.hpp).
#include <unordered_map>

#include "common/run/source_diff.hpp"
#include "migrate/merge_write.hpp"
#include "migrate/sync_run.hpp"
#include "migrate/sync_screen.hpp"

namespace cm::migrate {
namespace {

// One record's place in the target: collection and record, as the run's transform makes it.
struct Placed {
  std::string collection;
  Record record;
};

// What one change writes: target upserts per collection, target deletes per collection.
struct TargetChanges {
  std::map<std::string, std::vector<Record>> upserts;
  std::map<std::string, std::vector<std::string>> deletes;
};

class CollectionSync {
 public:
  CollectionSync(SyncRun& run, const RunManifest& m, std::string name)
      : run_(run), m_(m), name_(std::move(name)) {
    delta_.source_collection = name_;
  }

  const RouteChanges& route_changes() const { return route_changes_; }

  Result<CollectionDelta> run() {
    CM_ASSIGN_OR_RETURN(auto source, run_.source->find_collection(name_));
    if (!source) {
      return make_error(ErrorCode::kNotFound,
                        "source collection '" + name_ +
                            "' is gone: a sync cannot tell a dropped collection from an outage; "
                            "restore it, or roll the run back");
    }
    source_ = *source;
    CM_ASSIGN_OR_RETURN(auto snap, run_.source_snapshot.store->find_collection(name_));
    if (!snap) return make_error(ErrorCode::kCorruption, "the source snapshot lacks " + name_);
    snap_ = *snap;
    CM_ASSIGN_OR_RETURN(
        SourceDiffCounts counts,
        diff_source(*run_.source, source_, *run_.source_snapshot.store, snap_, run_.batch,
                    [this](std::vector<Record>& changed, const std::vector<const Record*>& olds,
                           const std::vector<const Record*>& deleted) {
                      return collect(changed, olds, deleted);
                    }));
    CM_RETURN_IF_ERROR(apply_collected());
    static_cast<SourceDiffCounts&>(delta_) = std::move(counts);
    return delta_;
  }

 private:
  // Changes are collected over the diff's batches and applied a target batch at a time: a few
  // changes per page would otherwise cost several target round trips per page. Memory: at most
  // one target batch of changes (with their old versions) besides the diff's own batch.
  Status collect(std::vector<Record>& changed, const std::vector<const Record*>& olds,
                 const std::vector<const Record*>& deleted) {
    if (run_.dry_run) return ok_status();
    for (std::size_t i = 0; i < changed.size(); ++i) {
      collected_.changed.push_back(std::move(changed[i]));
      collected_.olds.push_back(olds[i] ? std::optional<Record>(*olds[i]) : std::nullopt);
    }
    for (const auto* d : deleted) collected_.deleted.push_back(*d);
    if (collected_.changed.size() + collected_.deleted.size() < run_.target_batch)
      return ok_status();
    return apply_collected();
  }

  Status apply_collected() {
    Collected batch = std::exchange(collected_, {});
    if (batch.changed.empty() && batch.deleted.empty()) return ok_status();
    std::vector<const Record*> olds, deleted;
    for (const auto& o : batch.olds) olds.push_back(o ? &*o : nullptr);
    for (const auto& d : batch.deleted) deleted.push_back(&d);
    return apply(batch.changed, olds, deleted);
  }

  struct Collected {
    std::vector<Record> changed;
    std::vector<std::optional<Record>> olds;
    std::vector<Record> deleted;
  };
  Collected collected_;

  // Where the run's transform puts `r` (nullopt: skipped by the mapping); `marks` collects its
  // route counts (`sign` +1 for a new placement, -1 for an old one), applied once it is written.
  Result<std::optional<Placed>> place(const Record& r, std::int64_t sign, RouteMarks& marks) {
    if (!run_.mapping) return Placed{name_, r};
    CM_ASSIGN_OR_RETURN(
        auto t, contracts::transform_record(*run_.mapping, name_, r, run_.transform_context));
    marks.push_back({t.outcome, t.target, t.route, sign});
    if (t.outcome != contracts::Transformed::Outcome::kRouted) return std::optional<Placed>{};
    return Placed{t.target, std::move(t.record)};
  }

  // `changed[i]` replaces `olds[i]` (nullptr: added); `deleted` are gone at the source. Source
  // change k is changed[k] for k < changed.size(), else deleted[k - changed.size()].
  Status apply(const std::vector<Record>& changed, const std::vector<const Record*>& olds,
               const std::vector<const Record*>& deleted) {
    if (run_.dry_run) return ok_status();
    const std::size_t n = changed.size();
    std::vector<RouteMarks> marks(n + deleted.size());
    std::map<std::string, std::vector<TargetIntent>> intents;
    for (std::size_t i = 0; i < n; ++i) {
      CM_ASSIGN_OR_RETURN(auto now, place(changed[i], +1, marks[i]));
      std::optional<Placed> was;
      if (olds[i]) {
        CM_ASSIGN_OR_RETURN(was, place(*olds[i], -1, marks[i]));
      }
      const bool same_slot =
          was && now && was->collection == now->collection && was->record.id == now->record.id;
      if (was && !same_slot) intents[was->collection].push_back(gone(std::move(*was), i));
      if (now) {
        std::optional<Record> before;
        if (same_slot) before = std::move(was->record);
        std::string id = now->record.id;
        intents[now->collection].push_back(
            {std::move(id), std::move(before), std::move(now->record), i});
      }
    }
    for (std::size_t j = 0; j < deleted.size(); ++j) {
      CM_ASSIGN_OR_RETURN(auto was, place(*deleted[j], -1, marks[n + j]));
      if (was) intents[was->collection].push_back(gone(std::move(*was), n + j));
    }
    std::vector<bool> conflicted(marks.size(), false);
    CM_ASSIGN_OR_RETURN(auto writes, screen(intents, conflicted));
    CM_RETURN_IF_ERROR(write_target(writes));
    for (std::size_t k = 0; k < marks.size(); ++k) {
      if (conflicted[k]) continue;
      for (const auto& mark : marks[k]) route_changes_.count(mark);
    }
    return write_snapshots(changed, deleted, intents, conflicted);
  }

  static TargetIntent gone(Placed was, std::size_t source_change) {
    std::string id = was.record.id;
    return {std::move(id), std::move(was.record), std::nullopt, source_change};
  }

  // Judges every intent against the target (sync_screen.hpp), marks the source changes with a
  // conflicting intent, and returns what is left to write.
  Result<TargetChanges> screen(const std::map<std::string, std::vector<TargetIntent>>& intents,
                               std::vector<bool>& conflicted) {
    std::map<std::string, std::vector<IntentVerdict>> verdicts;
    for (const auto& [name, list] : intents) {
      CM_ASSIGN_OR_RETURN(auto info, target_collection(name));
      CM_ASSIGN_OR_RETURN(verdicts[name],
                          screen_intents(*run_.target, info, list, run_.target_batch));
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (verdicts[name][i] != IntentVerdict::kConflict) continue;
        if (!conflicted[list[i].source_change]) ++delta_.conflicts;
        conflicted[list[i].source_change] = true;
        if (delta_.conflict_samples.size() < SourceDiffCounts::kMaxSamples)
          delta_.conflict_samples.push_back(name + "/" + list[i].id);
      }
    }
    TargetChanges t;
    for (const auto& [name, list] : intents) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& intent = list[i];
        if (conflicted[intent.source_change] || verdicts[name][i] != IntentVerdict::kWrite)
          continue;
        if (intent.after) {
          t.upserts[name].push_back(*intent.after);
        } else {
          t.deletes[name].push_back(intent.id);
        }
      }
    }
    return t;
  }

  Result<CollectionInfo> target_collection(const std::string& name) {
    const auto* entry = m_.find_target(name);
    if (!entry) {
      return make_error(ErrorCode::kCorruption, "the transform routes records to '" + name +
                                                    "', which the run's ledger "
                                                    "does not hold");
    }
    const std::string where = m_.data_location(*entry);
    CM_ASSIGN_OR_RETURN(auto found, run_.target->find_collection(where));
    if (!found || !owned_by_run(*found, m_.run_id)) {
      return make_error(ErrorCode::kAlreadyExists,
                        "target collection '" + where + "' is " +
                            (found ? "not this run's (ledger key differs)" : "missing") +
                            "; the sync wrote nothing to it");
    }
    return *found;
  }

  Status write_target(const TargetChanges& t) {
    for (const auto& [name, ids] : t.deletes) {
      CM_ASSIGN_OR_RETURN(auto info, target_collection(name));
      CM_RETURN_IF_ERROR(run_.target->delete_records(info, ids));
    }
    for (const auto& [name, records] : t.upserts) {
      CM_ASSIGN_OR_RETURN(auto info, target_collection(name));
      std::span<const Record> all(records);
      for (std::size_t at = 0; at < all.size(); at += run_.target_batch) {
        CM_RETURN_IF_ERROR(merge_chunk(
            *run_.target, info, all.subspan(at, std::min(run_.target_batch, all.size() - at))));
      }
    }
    return ok_status();
  }

  // Into the snapshot deltas (snapshot_delta.hpp), applied after every collection was compared:
  // every source change that did not conflict, applied or found already applied.
  Status write_snapshots(const std::vector<Record>& changed,
                         const std::vector<const Record*>& deleted,
                         const std::map<std::string, std::vector<TargetIntent>>& intents,
                         const std::vector<bool>& conflicted) {
    std::vector<Record> upserts;
    for (std::size_t i = 0; i < changed.size(); ++i)
      if (!conflicted[i]) upserts.push_back(changed[i]);
    CM_RETURN_IF_ERROR(run_.source_delta->upsert(snap_, upserts));
    std::vector<std::string> ids;
    for (std::size_t j = 0; j < deleted.size(); ++j)
      if (!conflicted[changed.size() + j]) ids.push_back(deleted[j]->id);
    CM_RETURN_IF_ERROR(run_.source_delta->remove(snap_, ids));
    if (!run_.transformed) return ok_status();
    for (const auto& [name, list] : intents) {
      std::vector<Record> records;
      std::vector<std::string> gone;
      for (const auto& intent : list) {
        if (conflicted[intent.source_change]) continue;
        if (intent.after) {
          records.push_back(*intent.after);
        } else {
          gone.push_back(intent.id);
        }
      }
      if (records.empty() && gone.empty()) continue;
      CM_ASSIGN_OR_RETURN(auto info, run_.transformed->store->find_collection(name));
      if (!info) return make_error(ErrorCode::kCorruption, "the import snapshot lacks " + name);
      CM_RETURN_IF_ERROR(run_.transformed_delta->remove(*info, gone));
      CM_RETURN_IF_ERROR(run_.transformed_delta->upsert(*info, records));
    }
    return ok_status();
  }

  SyncRun& run_;
  const RunManifest& m_;
  std::string name_;
  RouteChanges route_changes_;
  CollectionInfo source_, snap_;
  CollectionDelta delta_;
};

}  // namespace

Result<CollectionDelta> sync_collection(SyncRun& run, const RunManifest& m, const std::string& name,
                                        RouteChanges& routes) {
  CollectionSync collection(run, m, name);
  CM_ASSIGN_OR_RETURN(CollectionDelta delta, collection.run());
  routes = collection.route_changes();
  return delta;
}

}  // namespace cm::migrate
