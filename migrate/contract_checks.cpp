// Contract preflight (before any target write, on the import snapshot) and postflight (after the
// import, on what the target holds). Both stream records; memory is the checker's id hashes.
#include <spdlog/spdlog.h>

#include "common/base/clock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

Status handle_findings(PhaseContext& ctx, const char* stage,
                       const std::vector<contracts::Finding>& findings) {
  const std::string version = ctx.contract->version;
  if (findings.empty()) {
    spdlog::info("{}: contract {} holds", stage, version);
    return ok_status();
  }
  const std::string diff = contracts::render_findings(findings);
  if (!ctx.options.allow_contract_drift) {
    return make_error(ErrorCode::kContractViolation,
                      std::string(stage) + ": the data breaks contract " + version + ":\n" + diff +
                          "\nFix the mapping or the contract, or pass --allow-contract-drift to "
                          "proceed anyway (recorded).");
  }
  spdlog::warn("{}: contract {} does not hold; proceeding because of --allow-contract-drift:\n{}",
               stage, version, diff);
  auto findings_json = contracts::findings_to_json(findings);
  CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
    m.contract_overrides.push_back(
        {{"at", now_iso8601()}, {"stage", stage}, {"findings", findings_json}});
  }));
  return ctx.audit->append({{"action", "contract_drift_override"},
                            {"stage", stage},
                            {"contract_version", version},
                            {"findings", findings.size()},
                            {"outcome", "ok"}});
}

// Streams every id of a live collection in pages, fetching records by id.
template <typename F>
Status for_each_target_record(VectorStore& store, const CollectionInfo& info, F&& visit) {
  for (std::uint64_t offset = 0;; offset += 1000) {
    CM_ASSIGN_OR_RETURN(auto ids, store.list_ids(info, offset, 1000));
    if (!ids.empty()) {
      CM_ASSIGN_OR_RETURN(auto records, store.get_records(info, ids));
      for (const auto& r : records) visit(r);
    }
    if (ids.size() < 1000) return ok_status();
  }
}

}  // namespace

Status run_preflight(PhaseContext& ctx) {
  if (!ctx.contract) return ok_status();
  const auto manifest = ctx.manifest.get();
  CM_ASSIGN_OR_RETURN(auto work, open_work_snapshot(ctx, ctx.work.resolve(manifest.import_snapshot),
                                                    SnapshotStore::Mode::kRead));
  SnapshotStore* snapshot = work.snapshot;  // part reads
  contracts::ContractChecker checker(*ctx.contract);
  for (const auto& entry : manifest.target_collections) {
    CM_ASSIGN_OR_RETURN(auto info, work.store->find_collection(entry.name));
    if (!info) return make_error(ErrorCode::kCorruption, "import snapshot lacks " + entry.name);
    checker.check_collection(entry.name, info->hnsw.space, info->dimension, info->metadata);
    CM_ASSIGN_OR_RETURN(std::size_t parts, snapshot->part_count(entry.name));
    for (std::size_t i = 0; i < parts; ++i) {
      CM_ASSIGN_OR_RETURN(auto records, snapshot->read_part(entry.name, i));
      for (const auto& r : records) checker.check_record(entry.name, r);
    }
    if (entry.action ==
        LedgerAction::kMerged) {  // records already there stay: references may point at them
      CM_ASSIGN_OR_RETURN(auto existing, ctx.target.find_collection(entry.name));
      for (std::uint64_t offset = 0; existing; offset += 10000) {
        CM_ASSIGN_OR_RETURN(auto ids, ctx.target.list_ids(*existing, offset, 10000));
        checker.add_existing_ids(ids);
        if (ids.size() < 10000) break;
      }
    }
  }
  return handle_findings(ctx, "preflight", checker.finish());
}

Status run_postflight(PhaseContext& ctx) {
  if (!ctx.contract) return ok_status();
  contracts::ContractChecker checker(*ctx.contract);
  const auto manifest = ctx.manifest.get();
  for (const auto& entry : manifest.target_collections) {
    CM_ASSIGN_OR_RETURN(auto info, ctx.target.find_collection(manifest.data_location(entry)));
    if (!info) continue;  // reported by the checker as a missing collection
    checker.check_collection(entry.name, info->hnsw.space, info->dimension, info->metadata);
    CM_RETURN_IF_ERROR(for_each_target_record(
        ctx.target, *info, [&](const Record& r) { checker.check_record(entry.name, r); }));
  }
  return handle_findings(ctx, "postflight", checker.finish());
}

}  // namespace cm::migrate
