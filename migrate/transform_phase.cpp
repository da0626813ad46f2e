// Transform: decides what lands where. Without a mapping (this version) every source collection
// goes to a target collection of the same name, unchanged, so the import reads the export snapshot
// itself; the mapping engine replaces this with a transformed snapshot and a routing plan.
#include <spdlog/spdlog.h>

#include "common/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {

Status run_transform_phase(PhaseContext& ctx) {
  CM_ASSIGN_OR_RETURN(auto snapshot, SnapshotStore::open(ctx.work.snapshot(WorkDir::kSourceSnapshot),
                                                         SnapshotStore::Mode::kRead));
  const auto manifest = ctx.manifest.get();
  std::vector<TargetCollectionEntry> targets;
  for (const auto& name : manifest.source_collections) {
    CM_ASSIGN_OR_RETURN(auto info, snapshot->find_collection(name));
    if (!info) return make_error(ErrorCode::kCorruption, "export snapshot lacks collection " + name);
    CM_ASSIGN_OR_RETURN(auto count, snapshot->count(*info));
    // Keep the ledger state of an entry a previous invocation already advanced.
    TargetCollectionEntry entry{name, "created", "planned", {name}, count};
    for (const auto& old : manifest.target_collections) {
      if (old.name == name) entry.state = old.state;
    }
    targets.push_back(std::move(entry));
  }
  CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
    m.import_snapshot = std::string("snapshots/") + WorkDir::kSourceSnapshot;
    m.target_collections = targets;
  }));
  spdlog::info("transform: identity mapping, {} target collection(s)", targets.size());
  return ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kImport; });
}

}  // namespace cm::migrate
