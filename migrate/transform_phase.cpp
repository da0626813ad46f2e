// Transform: decides what lands where. Without a mapping every source collection goes unchanged to
// a target collection of the same name and the import reads the export snapshot itself. With a
// mapping (transform_mapped.cpp) the records are rewritten into snapshots/transformed, which the
// import and the validation then read. Either way the phase ends with the contract preflight, so
// nothing reaches the target before it passed (or the drift was explicitly allowed).
#include <spdlog/spdlog.h>

#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"
#include "migrate/transform_mapped.hpp"

namespace cm::migrate {
namespace {

Status identity_transform(PhaseContext& ctx) {
  CM_ASSIGN_OR_RETURN(auto exported,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kSourceSnapshot),
                                         SnapshotStore::Mode::kRead));
  VectorStore* snapshot = exported.store.get();
  const auto manifest = ctx.manifest.get();
  std::map<std::string, std::uint64_t> counts;
  for (const auto& name : manifest.source_collections) {
    CM_ASSIGN_OR_RETURN(auto info, snapshot->find_collection(name));
    if (!info)
      return make_error(ErrorCode::kCorruption, "export snapshot lacks collection " + name);
    CM_ASSIGN_OR_RETURN(counts[name], snapshot->count(*info));
  }
  CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
    m.import_snapshot = WorkDir::snapshot_relative(WorkDir::kSourceSnapshot);
    for (auto& entry : m.target_collections) {
      entry.source_collections = {entry.name};
      entry.expected_records = counts[entry.name];
    }
  }));
  spdlog::info("transform: identity, {} target collection(s)", counts.size());
  return ok_status();
}

}  // namespace

Result<WorkSnapshot> open_work_snapshot(const PhaseContext& ctx, const std::filesystem::path& dir,
                                        SnapshotStore::Mode mode) {
  StoreOpenOptions options;
  options.retry = ctx.options.retry;
  options.fault_spec = ctx.options.fault_spec;
  return cm::open_work_snapshot(dir, mode, options);
}

Metadata with_ledger_keys(Metadata metadata, const RunManifest& manifest) {
  metadata[kLedgerRunId] = manifest.run_id;
  metadata[kLedgerMappingHash] =
      manifest.mapping_hash.empty() ? std::string("identity") : manifest.mapping_hash;
  metadata[kLedgerContractVersion] =
      manifest.contract_version.empty() ? std::string("none") : manifest.contract_version;
  return metadata;
}

Status run_transform_phase(PhaseContext& ctx) {
  CM_RETURN_IF_ERROR(ctx.mapping ? mapped_transform(ctx) : identity_transform(ctx));
  CM_RETURN_IF_ERROR(run_preflight(ctx));
  return ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kImport; });
}

}  // namespace cm::migrate
