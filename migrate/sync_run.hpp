// The pieces of chroma-migrate --sync (sync.hpp) shared by its files: what a sync works with, and
// the per-collection comparison and apply (sync_collection.cpp). Not for use elsewhere.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/run/run_manifest.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "contracts/mapping.hpp"
#include "migrate/snapshot_delta.hpp"
#include "migrate/sync.hpp"

namespace cm::migrate {

// Everything a sync works with, opened once.
struct SyncRun {
  WorkDir work;
  std::unique_ptr<WorkDirLock> lock;
  std::unique_ptr<RunManifestStore> manifest;
  std::unique_ptr<VectorStore> source, target;
  WorkSnapshot source_snapshot;
  std::optional<WorkSnapshot> transformed;  // with a mapping: the import snapshot
  // The delta generations the sync writes on top of them (snapshot_delta.hpp).
  std::optional<SnapshotDelta> source_delta, transformed_delta;
  std::uint64_t generation = 0;
  StoreOpenOptions work_options;
  std::optional<contracts::Mapping> mapping;
  contracts::TransformContext transform_context;
  std::size_t batch = 1000;
  std::size_t target_batch = 1000;
  std::size_t workers = 2;  // collections synced side by side (the run's --workers)
  bool dry_run = false;
};

// One placement's share of the transform's counts: +1 for a record's new placement, -1 for its
// old one.
struct RouteMark {
  contracts::Transformed::Outcome outcome;
  std::string target, route;
  std::int64_t sign;
};
using RouteMarks = std::vector<RouteMark>;

// How a sync moves the transform's counts (transform_report.json): per target and route, and the
// skips.
struct RouteChanges {
  std::map<std::string, std::map<std::string, std::int64_t>> routes;  // target -> route -> change
  std::int64_t skipped_unmatched = 0, skipped_cast_failure = 0;
  void count(const RouteMark& m) {
    if (m.outcome == contracts::Transformed::Outcome::kRouted) {
      routes[m.target][m.route] += m.sign;
    } else if (m.outcome == contracts::Transformed::Outcome::kSkippedUnmatched) {
      skipped_unmatched += m.sign;
    } else {
      skipped_cast_failure += m.sign;
    }
  }
};

// Compares source collection `name` with the run's snapshot of it and applies what changed to the
// run's targets and to the snapshot deltas (sync.hpp, steps 1 to 3). `routes` receives how the
// applied changes move the transform's counts.
Result<CollectionDelta> sync_collection(SyncRun& run, const RunManifest& m, const std::string& name,
                                        RouteChanges& routes);

}  // namespace cm::migrate
