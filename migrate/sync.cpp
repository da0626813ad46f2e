#include "migrate/sync.hpp"

#include "migrate/sync_run.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "checkpoints/checkpoint.hpp"
#include "common/base/atomic_file.hpp"
#include "common/base/batch_runner.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_generations.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "contracts/mapping.hpp"
#include "migrate/finished_run.hpp"
#include "migrate/migration.hpp"
#include "migrate/snapshot_delta.hpp"

namespace cm::migrate {

std::uint64_t SyncSummary::total() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.total();
  return n;
}

std::uint64_t SyncSummary::conflicts() const {
  std::uint64_t n = 0;
  for (const auto& c : collections) n += c.conflicts;
  return n;
}

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t id_hash64(const std::string& id) {
  return xxh3_64(id);
}

// The run's snapshots as they read now (kRead: the base with every committed delta).
Status open_run_snapshots(SyncRun& run, const RunManifest& m) {
  constexpr auto kRead = SnapshotStore::Mode::kRead;
  CM_ASSIGN_OR_RETURN(
      run.source_snapshot,
      open_work_snapshot(run.work.snapshot(WorkDir::kSourceSnapshot), kRead, run.work_options));
  if (m.mapping_hash.empty()) return ok_status();
  CM_ASSIGN_OR_RETURN(
      auto t, open_work_snapshot(run.work.resolve(m.import_snapshot), kRead, run.work_options));
  run.transformed = std::move(t);
  return ok_status();
}

// The next generation: above every recorded sync and every committed delta (a sync killed after
// committing its deltas, before run.json recorded it, left one run.json does not list).
Result<std::uint64_t> next_generation(const SyncRun& run, const RunManifest& m) {
  std::uint64_t g = m.syncs.size();
  CM_ASSIGN_OR_RETURN(auto source,
                      snapshot::committed_generation(run.source_snapshot.snapshot->dir()));
  g = std::max(g, source);
  if (run.transformed) {
    CM_ASSIGN_OR_RETURN(auto t, snapshot::committed_generation(run.transformed->snapshot->dir()));
    g = std::max(g, t);
  }
  return g + 1;
}

Status start_deltas(SyncRun& run, const RunManifest& m) {
  CM_ASSIGN_OR_RETURN(run.generation, next_generation(run, m));
  CM_ASSIGN_OR_RETURN(run.source_delta, SnapshotDelta::create(run.source_snapshot.snapshot->dir(),
                                                              *run.source_snapshot.snapshot,
                                                              run.generation, run.work_options));
  if (!run.transformed) return ok_status();
  CM_ASSIGN_OR_RETURN(
      run.transformed_delta,
      SnapshotDelta::create(run.transformed->snapshot->dir(), *run.transformed->snapshot,
                            run.generation, run.work_options));
  return ok_status();
}

// Seals the deltas and makes them visible: the import snapshot's first, then the source's, so
// that a crash in between leaves the source snapshot behind (the next sync finds its changes
// again), never ahead of what the targets' snapshot says. Then reopens both as they now read.
Status commit_deltas(SyncRun& run, const RunManifest& m) {
  if (run.transformed_delta) CM_RETURN_IF_ERROR(run.transformed_delta->seal());
  CM_RETURN_IF_ERROR(run.source_delta->seal());
  if (run.transformed_delta) {
    CM_RETURN_IF_ERROR(snapshot::commit_generation(run.transformed_delta->base(), run.generation));
  }
  CM_RETURN_IF_ERROR(snapshot::commit_generation(run.source_delta->base(), run.generation));
  run.transformed.reset();
  return open_run_snapshots(run, m);
}

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
              .generation = 0,
              .work_options = {},
              .mapping = std::nullopt,
              .transform_context = {},
              .batch = 1000,
              .target_batch = 1000,
              .workers = 2,
              .dry_run = o.dry_run};
  const auto m = run.manifest->get();
  const auto& checkpoint = finished.checkpoint;
  run.batch =
      o.batch_size ? o.batch_size : checkpoint.config.value("batch_size", std::size_t{1000});
  if (run.batch == 0) run.batch = 1000;
  run.workers = std::max<std::size_t>(1, checkpoint.config.value("workers", std::size_t{2}));
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
                        .scratch_dir = run.work.scratch_dir(),
                        // A persist source as the run read it (migrate/lost_vectors.hpp).
                        .skip_unrecoverable = !m.unrecoverable_at_source.empty()};
  StoreOpenOptions source_options = base;
  source_options.token = tokens.source;
  source_options.max_records_per_second = o.source_rate;
  CM_ASSIGN_OR_RETURN(run.source, open_store(source_uri, StoreRole::kSource, source_options));
  StoreOpenOptions target_options = base;
  target_options.token = tokens.target;
  target_options.audit = AuditLog::open(run.work.audit_log(), m.run_id);
  target_options.dry_run = o.dry_run;
  CM_ASSIGN_OR_RETURN(run.target, open_store(target_uri, StoreRole::kTarget, target_options));
  CM_ASSIGN_OR_RETURN(auto target_limits, run.target->limits());
  run.target_batch = std::min(run.batch, target_limits.max_batch_size);
  run.work_options = base;
  CM_RETURN_IF_ERROR(open_run_snapshots(run, m));
  if (!m.mapping_hash.empty()) {
    CM_ASSIGN_OR_RETURN(auto mapping, contracts::load_mapping(run.work.mapping_copy()));
    if (contracts::mapping_hash(mapping) != m.mapping_hash) {
      return make_error(ErrorCode::kCorruption,
                        run.work.mapping_copy().string() +
                            " is not the mapping the run was bound to (hash differs)");
    }
    run.mapping = std::move(mapping);
  }
  run.transform_context = {m.run_id, m.started_at};
  if (!o.dry_run) CM_RETURN_IF_ERROR(start_deltas(run, m));
  return run;
}

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
      for (const auto& id : listed) ids.insert(id_hash64(id));
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
    collections[c.source_collection] = {{"added", c.added},
                                        {"changed", c.changed},
                                        {"deleted", c.deleted},
                                        {"conflicts", c.conflicts},
                                        {"conflict_samples", c.conflict_samples}};
  }
  return run.manifest->update([&](RunManifest& m) {
    summary.generation = run.generation;
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
  // Collections are synced side by side (the run's --workers): each reads its own pages, and
  // the stores and deltas they share are thread-safe.
  const auto& names = m.source_collections;
  std::vector<std::optional<CollectionDelta>> deltas(names.size());
  std::vector<RouteChanges> routes(names.size());
  CM_RETURN_IF_ERROR(
      run_batches(names.size(), [](std::size_t) { return false; }, run.workers,
                  {.run = [&](std::size_t i) -> Result<std::size_t> {
                     auto delta = sync_collection(run, m, names[i], routes[i]);
                     if (!delta) {
                       return std::unexpected(
                           std::move(delta).error().with_context("syncing '" + names[i] + "'"));
                     }
                     deltas[i] = std::move(*delta);
                     return std::size_t{0};
                   },
                   .completed = [](std::size_t, std::size_t) { return ok_status(); }}));
  for (std::size_t i = 0; i < names.size(); ++i) {
    route_changes[names[i]] = routes[i];
    spdlog::info("{}: {} added, {} changed, {} deleted", names[i], deltas[i]->added,
                 deltas[i]->changed, deltas[i]->deleted);
    summary.collections.push_back(std::move(*deltas[i]));
  }
  if (o.dry_run) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
  }
  CM_RETURN_IF_ERROR(commit_deltas(run, m));
  summary.converged = summary.conflicts() == 0;
  std::vector<char> agree(names.size(), 0);
  CM_RETURN_IF_ERROR(
      run_batches(names.size(), [](std::size_t) { return false; }, run.workers,
                  {.run = [&](std::size_t i) -> Result<std::size_t> {
                     CM_ASSIGN_OR_RETURN(bool same, ids_agree(run, names[i], run.batch));
                     agree[i] = same ? 1 : 0;
                     return std::size_t{0};
                   },
                   .completed = [](std::size_t, std::size_t) { return ok_status(); }}));
  for (char a : agree) summary.converged = summary.converged && a;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  CM_RETURN_IF_ERROR(record_sync(run, summary, counts_before, o.final));
  // run.json has the sync; the summary and its page only show it: a failure there is a warning.
  if (auto page = refresh_summary_syncs(run.work, run.manifest->get().syncs); page) {
    summary.html_page = *page;
  } else {
    spdlog::warn("{} not updated with this sync: {}", run.work.migration_summary().string(),
                 page.error().message);
  }
  if (run.mapping) {
    CM_ASSIGN_OR_RETURN(auto landed, import_counts(run));
    CM_RETURN_IF_ERROR(patch_transform_report(run, route_changes, landed));
  }
  return summary;
}

}  // namespace cm::migrate
