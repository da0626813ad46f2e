#include "migrate/sync.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "checkpoints/checkpoint.hpp"
#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/source_diff.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "contracts/mapping.hpp"
#include "migrate/finished_run.hpp"
#include "migrate/merge_write.hpp"
#include "migrate/snapshot_delta.hpp"

namespace cm::migrate {

std::uint64_t SyncSummary::total() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.total();
  return n;
}

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t id_hash(const std::string& id) {
  return xxh3_64(id);
}

// Everything a sync works with, opened once.
struct SyncRun {
  WorkDir work;
  std::unique_ptr<WorkDirLock> lock;
  std::unique_ptr<RunManifestStore> manifest;
  std::unique_ptr<VectorStore> source, target;
  WorkSnapshot source_snapshot;
  std::optional<WorkSnapshot> transformed;  // with a mapping: the import snapshot
  // What the sync will write into them, applied once every collection was compared.
  std::optional<SnapshotDelta> source_delta, transformed_delta;
  std::optional<contracts::Mapping> mapping;
  contracts::TransformContext transform_context;
  std::size_t batch = 1000;
  std::size_t target_batch = 1000;
  bool dry_run = false;
};

Result<SyncRun> open_sync_run(const SyncOptions& o) {
  const CutoverOptions& a = o.run;
  CM_ASSIGN_OR_RETURN(FinishedRun finished, open_finished_run(a.work_dir, "--sync"));
  SyncRun run{.work = finished.work,
              .lock = std::move(finished.lock),
              .manifest = std::move(finished.manifest),
              .source = nullptr,
              .target = nullptr,
              .source_snapshot = {},
              .transformed = std::nullopt,
              .source_delta = std::nullopt,
              .transformed_delta = std::nullopt,
              .mapping = std::nullopt,
              .transform_context = {},
              .batch = 1000,
              .target_batch = 1000,
              .dry_run = o.dry_run};
  const auto m = run.manifest->get();
  const auto& checkpoint = finished.checkpoint;
  run.batch =
      o.batch_size ? o.batch_size : checkpoint.config.value("batch_size", std::size_t{1000});
  if (run.batch == 0) run.batch = 1000;
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-migrate", {run.work.log_file("chroma-migrate", m.run_id), a.verbose, a.quiet}));
  CM_ASSIGN_OR_RETURN(auto source_uri, recorded_store_uri(o.source_uri, m.source, "--source"));
  CM_ASSIGN_OR_RETURN(auto target_uri, recorded_store_uri(a.target_uri, m.target, "--target"));
  CM_RETURN_IF_ERROR(check_interlocks({.target_env = a.target_env.value_or(m.target_kind),
                                       .confirmation = a.confirmation,
                                       .targets_file = a.targets_file,
                                       .target = target_uri,
                                       .dry_run = o.dry_run}));
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens,
                      resolve_store_tokens(a.tokens, &source_uri, &target_uri));
  StoreOpenOptions base{.token = std::nullopt,
                        .retry = a.retry,
                        .counters = std::make_shared<StoreCounters>(),
                        .fault_spec = a.fault_spec,
                        .audit = nullptr,
                        .dry_run = false,
                        .scratch_dir = run.work.scratch_dir()};
  StoreOpenOptions source_options = base;
  source_options.token = tokens.source;
  CM_ASSIGN_OR_RETURN(run.source, open_store(source_uri, StoreRole::kSource, source_options));
  StoreOpenOptions target_options = base;
  target_options.token = tokens.target;
  target_options.audit = AuditLog::open(run.work.audit_log(), m.run_id);
  target_options.dry_run = o.dry_run;
  CM_ASSIGN_OR_RETURN(run.target, open_store(target_uri, StoreRole::kTarget, target_options));
  CM_ASSIGN_OR_RETURN(auto target_limits, run.target->limits());
  run.target_batch = std::min(run.batch, target_limits.max_batch_size);
  const auto mode = o.dry_run ? SnapshotStore::Mode::kRead : SnapshotStore::Mode::kWrite;
  CM_ASSIGN_OR_RETURN(run.source_snapshot,
                      open_work_snapshot(run.work.snapshot(WorkDir::kSourceSnapshot), mode, base));
  if (!m.mapping_hash.empty()) {
    CM_ASSIGN_OR_RETURN(auto mapping, contracts::load_mapping(run.work.mapping_copy()));
    if (contracts::mapping_hash(mapping) != m.mapping_hash) {
      return make_error(ErrorCode::kCorruption,
                        run.work.mapping_copy().string() +
                            " is not the mapping the run was bound to (hash differs)");
    }
    run.mapping = std::move(mapping);
    CM_ASSIGN_OR_RETURN(auto t,
                        open_work_snapshot(run.work.resolve(m.import_snapshot), mode, base));
    run.transformed = std::move(t);
  }
  run.transform_context = {m.run_id, m.started_at};
  if (!o.dry_run) {
    CM_ASSIGN_OR_RETURN(run.source_delta,
                        SnapshotDelta::create(run.work.snapshot(WorkDir::kSyncPendingSource)));
    if (run.transformed) {
      CM_ASSIGN_OR_RETURN(
          run.transformed_delta,
          SnapshotDelta::create(run.work.snapshot(WorkDir::kSyncPendingTransformed)));
    }
  }
  return run;
}

// One record's place in the target: collection and record, as the run's transform makes it.
struct Placed {
  std::string collection;
  Record record;
};

// How a sync moves the transform's counts (transform_report.json): per target and route, and the
// skips, as +1 for a record's new placement and -1 for its old one.
struct RouteChanges {
  std::map<std::string, std::map<std::string, std::int64_t>> routes;  // target -> route -> change
  std::int64_t skipped_unmatched = 0, skipped_cast_failure = 0;
  void count(const contracts::Transformed& t, std::int64_t sign) {
    if (t.outcome == contracts::Transformed::Outcome::kRouted) {
      routes[t.target][t.route] += sign;
    } else if (t.outcome == contracts::Transformed::Outcome::kSkippedUnmatched) {
      skipped_unmatched += sign;
    } else {
      skipped_cast_failure += sign;
    }
  }
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
                      return apply(changed, olds, deleted);
                    }));
    static_cast<SourceDiffCounts&>(delta_) = std::move(counts);
    return delta_;
  }

 private:
  // Where the run's transform puts `r` (nullopt: skipped by the mapping).
  // `sign` counts the placement into (+1) or out of (-1) the transform's figures.
  Result<std::optional<Placed>> place(const Record& r, std::int64_t sign) {
    if (!run_.mapping) return Placed{name_, r};
    CM_ASSIGN_OR_RETURN(
        auto t, contracts::transform_record(*run_.mapping, name_, r, run_.transform_context));
    route_changes_.count(t, sign);
    if (t.outcome != contracts::Transformed::Outcome::kRouted) return std::optional<Placed>{};
    return Placed{t.target, std::move(t.record)};
  }

  // `changed[i]` replaces `olds[i]` (nullptr: added); `deleted` are gone at the source.
  Status apply(const std::vector<Record>& changed, const std::vector<const Record*>& olds,
               const std::vector<const Record*>& deleted) {
    if (run_.dry_run) return ok_status();
    TargetChanges t;
    auto drop_old = [&](const Record& old, const std::optional<Placed>& now) -> Status {
      CM_ASSIGN_OR_RETURN(auto was, place(old, -1));
      if (was && (!now || now->collection != was->collection || now->record.id != was->record.id))
        t.deletes[was->collection].push_back(was->record.id);
      return ok_status();
    };
    for (std::size_t i = 0; i < changed.size(); ++i) {
      CM_ASSIGN_OR_RETURN(auto now, place(changed[i], +1));
      if (olds[i]) CM_RETURN_IF_ERROR(drop_old(*olds[i], now));
      if (now) t.upserts[now->collection].push_back(std::move(now->record));
    }
    for (const auto* old : deleted) CM_RETURN_IF_ERROR(drop_old(*old, std::nullopt));
    CM_RETURN_IF_ERROR(write_target(t));
    return write_snapshots(changed, deleted, t);
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

  // Into the snapshot deltas (snapshot_delta.hpp), applied after every collection was compared.
  Status write_snapshots(const std::vector<Record>& changed,
                         const std::vector<const Record*>& deleted, const TargetChanges& t) {
    CM_RETURN_IF_ERROR(run_.source_delta->upsert(snap_, changed));
    std::vector<std::string> ids;
    for (const auto* r : deleted) ids.push_back(r->id);
    run_.source_delta->remove(snap_.name, ids);
    if (!run_.transformed) return ok_status();
    for (const auto& [name, gone] : t.deletes) run_.transformed_delta->remove(name, gone);
    for (const auto& [name, records] : t.upserts) {
      CM_ASSIGN_OR_RETURN(auto info, run_.transformed->store->find_collection(name));
      if (!info) return make_error(ErrorCode::kCorruption, "the import snapshot lacks " + name);
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

// The second, ids-only scan: does the source hold exactly the snapshot's ids now?
Result<bool> ids_agree(SyncRun& run, const std::string& name, std::size_t page_size) {
  CM_ASSIGN_OR_RETURN(auto source, run.source->find_collection(name));
  CM_ASSIGN_OR_RETURN(auto snap, run.source_snapshot.store->find_collection(name));
  if (!source || !snap) return false;
  auto digest = [&](VectorStore& store, const CollectionInfo& c) -> Result<std::uint64_t> {
    std::unordered_set<std::uint64_t> ids;
    const auto page = static_cast<std::uint32_t>(page_size);
    for (std::uint64_t offset = 0;; offset += page) {
      CM_ASSIGN_OR_RETURN(auto listed, store.list_ids(c, offset, page));
      for (const auto& id : listed) ids.insert(id_hash(id));
      if (listed.size() < page) break;
    }
    std::uint64_t sum = ids.size();
    for (auto h : ids) sum += h * 0x9E3779B97F4A7C15ull;  // order-free set digest
    return sum;
  };
  CM_ASSIGN_OR_RETURN(std::uint64_t count_before, run.source->count(*source));
  CM_ASSIGN_OR_RETURN(std::uint64_t at_source, digest(*run.source, *source));
  CM_ASSIGN_OR_RETURN(std::uint64_t count_after, run.source->count(*source));
  CM_ASSIGN_OR_RETURN(std::uint64_t in_snapshot, digest(*run.source_snapshot.store, *snap));
  return count_before == count_after && at_source == in_snapshot;
}

// transform_report.json follows the sync: its per-route and skip counts move by what the sync
// re-routed, and its per-target counts are the import snapshot's.
Status patch_transform_report(const SyncRun& run,
                              const std::map<std::string, RouteChanges>& changes,
                              const std::map<std::string, std::uint64_t>& landed) {
  const auto path = run.work.transform_report();
  auto text = read_file(path);
  if (!text) return ok_status();  // no mapping, or a run that never wrote one
  auto report = nlohmann::json::parse(*text, nullptr, false);
  if (!report.is_object())
    return make_error(ErrorCode::kCorruption, path.string() + " is not JSON");
  auto add = [](nlohmann::json& slot, std::int64_t change) {
    slot = static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, slot.is_number() ? slot.get<std::int64_t>() + change : change));
  };
  for (const auto& [source, c] : changes) {
    auto& details = report["sources"][source];
    for (const auto& [target, routes] : c.routes) {
      for (const auto& [route, change] : routes) {
        add(details["routes"][target][route], change);
        add(details["routed"][target], change);
      }
    }
    add(details["skipped_unmatched"], c.skipped_unmatched);
    add(details["skipped_cast_failure"], c.skipped_cast_failure);
  }
  report["targets"] = landed;
  return write_file_atomic(path, report.dump(2) + "\n");
}

// Records per target collection in the import snapshot (what the run's targets should hold).
Result<std::map<std::string, std::uint64_t>> import_counts(SyncRun& run) {
  VectorStore& expected = run.transformed ? *run.transformed->store : *run.source_snapshot.store;
  std::map<std::string, std::uint64_t> counts;
  for (const auto& e : run.manifest->get().target_collections) {
    CM_ASSIGN_OR_RETURN(auto info, expected.find_collection(e.name));
    if (!info) continue;
    CM_ASSIGN_OR_RETURN(counts[e.name], expected.count(*info));
  }
  return counts;
}

// Into run.json: the sync itself, and the targets' expected records. A created or replaced
// collection holds exactly the import snapshot's records; a merged one also holds records the run
// never wrote, so it moves by the snapshot's change (an id added at the source that some other
// writer had already put into the merged collection is counted twice: validation then says so).
Status record_sync(SyncRun& run, SyncSummary& summary,
                   const std::map<std::string, std::uint64_t>& before, bool final) {
  CM_ASSIGN_OR_RETURN(auto after, import_counts(run));
  nlohmann::json collections = nlohmann::json::object();
  for (const auto& c : summary.collections) {
    collections[c.source_collection] = {
        {"added", c.added}, {"changed", c.changed}, {"deleted", c.deleted}};
  }
  return run.manifest->update([&](RunManifest& m) {
    summary.generation = m.syncs.size() + 1;
    for (auto& e : m.target_collections) {
      if (!after.contains(e.name)) continue;
      if (e.action != LedgerAction::kMerged) {
        e.expected_records = after.at(e.name);
      } else if (before.contains(e.name)) {
        e.expected_records = e.expected_records + after.at(e.name) - before.at(e.name);
      }
    }
    m.syncs.push_back({{"generation", summary.generation},
                       {"at", now_iso8601()},
                       {"seconds", summary.seconds},
                       {"converged", summary.converged},
                       {"final", final},
                       {"collections", collections}});
  });
}

}  // namespace

bool final_sync_applies(const std::filesystem::path& work_dir) {
  auto store = RunManifestStore::load(WorkDir(work_dir).run_manifest());
  if (!store) return false;  // --cutover reports what is wrong with the work dir
  const RunManifest m = (*store)->get();
  return m.staged && !m.dry_run && m.rolled_back_at.empty() &&
         m.cutover.state == CutoverState::kNotStarted;
}

Result<SyncSummary> run_sync(const SyncOptions& o) {
  const auto start = Clock::now();
  CM_ASSIGN_OR_RETURN(SyncRun run, open_sync_run(o));
  const RunManifest m = run.manifest->get();
  SyncSummary summary;
  summary.run_id = m.run_id;
  summary.dry_run = o.dry_run;
  spdlog::info("{}sync of run {}: reading every record of {} source collection(s)",
               o.dry_run ? "dry-run " : "", m.run_id, m.source_collections.size());
  CM_ASSIGN_OR_RETURN(const auto counts_before, import_counts(run));
  std::map<std::string, RouteChanges> route_changes;
  for (const auto& name : m.source_collections) {
    CollectionSync collection(run, m, name);
    auto delta = collection.run();
    if (!delta)
      return std::unexpected(std::move(delta).error().with_context("syncing '" + name + "'"));
    route_changes[name] = collection.route_changes();
    spdlog::info("{}: {} added, {} changed, {} deleted", name, delta->added, delta->changed,
                 delta->deleted);
    summary.collections.push_back(std::move(*delta));
  }
  if (o.dry_run) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
  }
  CM_RETURN_IF_ERROR(run.source_delta->apply_to(*run.source_snapshot.store));
  if (run.transformed) CM_RETURN_IF_ERROR(run.transformed_delta->apply_to(*run.transformed->store));
  summary.converged = true;
  for (const auto& name : m.source_collections) {
    CM_ASSIGN_OR_RETURN(bool agree, ids_agree(run, name, run.batch));
    summary.converged = summary.converged && agree;
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  CM_RETURN_IF_ERROR(record_sync(run, summary, counts_before, o.final));
  if (run.mapping) {
    CM_ASSIGN_OR_RETURN(auto landed, import_counts(run));
    CM_RETURN_IF_ERROR(patch_transform_report(run, route_changes, landed));
  }
  return summary;
}

}  // namespace cm::migrate
