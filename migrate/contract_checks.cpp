// Contract preflight (before any target write, on the import snapshot) and postflight (after the
// import, on what the target holds). Both stream records; memory is the checker's id hashes.
// When the operator accepts the preflight's findings (--allow-contract-drift), they are written to
// the work directory's accepted_drift.json, every dangling reference by collection, key, record id
// and value, so that chroma-validate can tell references that already dangled in what the run was
// asked to import (accepted) from references the migration broke.
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

// The references of the import snapshot that no record of it (nor of a merged collection) names:
// the same rule as the contract checker's dangling_reference, but every one by record id (the
// checker keeps samples only). Memory: a 128-bit hash per record id, plus each reference not
// resolved when its record streamed past.
class DanglingReferences {
 public:
  explicit DanglingReferences(const contracts::Contract& contract) : contract_(contract) {}

  void record(const std::string& collection, const Record& r) {
    ids_.insert(id_hash(r.id));
    if (!contract_.find_collection(collection)) return;  // unlisted: not bound by field rules
    for (const auto& [key, rule] : contract_.fields) {
      if (!rule.references_ids || !rule.applies_to(collection)) continue;
      auto it = r.metadata.find(key);
      if (it == r.metadata.end()) continue;
      const auto* value = std::get_if<std::string>(&it->second);
      if (!value || value->empty()) continue;
      if (!ids_.contains(id_hash(*value))) pending_.push_back({collection, key, r.id, *value});
    }
  }
  void existing(std::span<const std::string> ids) {
    for (const auto& id : ids) ids_.insert(id_hash(id));
  }
  bool any() const { return !finish().empty(); }
  nlohmann::json finish() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : pending_) {
      if (ids_.contains(id_hash(p.value))) continue;
      out.push_back(
          {{"collection", p.collection}, {"key", p.key}, {"id", p.id}, {"value", p.value}});
    }
    return out;
  }

 private:
  struct Pending {
    std::string collection, key, id, value;
  };
  const contracts::Contract& contract_;
  IdHashSet ids_;
  std::vector<Pending> pending_;
};

// accepted_drift.json: what the operator accepted at `stage` (the merged validation of a sharded
// run reads the union of the shards', common/run/shard_merge_drift.hpp).
Status write_accepted(PhaseContext& ctx, const char* stage, const nlohmann::json& findings_json,
                      const DanglingReferences& references) {
  const nlohmann::json accepted = {{"run_id", ctx.manifest.get().run_id},
                                   {"stage", stage},
                                   {"at", now_iso8601()},
                                   {"contract_version", ctx.contract->version},
                                   {"findings", findings_json},
                                   {"dangling_references", references.finish()}};
  return write_file_atomic(ctx.work.accepted_drift(), accepted.dump(2) + "\n");
}

Status handle_findings(PhaseContext& ctx, const char* stage,
                       const std::vector<contracts::Finding>& findings,
                       const DanglingReferences* references = nullptr) {
  const std::string version = ctx.contract->version;
  if (findings.empty()) {
    spdlog::info("{}: contract {} holds", stage, version);
    if (references) {  // nothing accepted now: a file from an earlier invocation no longer holds
      std::error_code ec;
      std::filesystem::remove(ctx.work.accepted_drift(), ec);
    }
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
  if (references) {
    CM_RETURN_IF_ERROR(write_accepted(ctx, stage, findings_json, *references));
  }
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

// A shard (--shard) holds 1/N of the records: a reference to a record of another shard dangles in
// its snapshot (preflight) and, until that shard has imported it, in the target (postflight). Those
// findings are left to the merged validation (chroma-validate with every shard's work dir), whose
// citation test judges references over the union; every other finding stands.
std::vector<contracts::Finding> judged_by_this_shard(const PhaseContext& ctx, const char* stage,
                                                     std::vector<contracts::Finding> findings) {
  if (!ctx.options.shard) return findings;
  const auto dangling = std::erase_if(findings, [](const contracts::Finding& f) {
    return f.kind == contracts::kind::kDanglingReference;
  });
  if (dangling) {
    spdlog::info(
        "{}: {} dangling-reference finding(s) left to the merged validation of every shard "
        "(a reference may name a record of another shard)",
        stage, dangling);
  }
  return findings;
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
  DanglingReferences references(*ctx.contract);
  for (const auto& entry : manifest.target_collections) {
    CM_ASSIGN_OR_RETURN(auto info, work.store->find_collection(entry.name));
    if (!info) return make_error(ErrorCode::kCorruption, "import snapshot lacks " + entry.name);
    checker.check_collection(entry.name, info->hnsw.space, info->dimension, info->metadata);
    CM_ASSIGN_OR_RETURN(std::size_t parts, snapshot->part_count(entry.name));
    for (std::size_t i = 0; i < parts; ++i) {
      CM_ASSIGN_OR_RETURN(auto records, snapshot->read_part(entry.name, i));
      for (const auto& r : records) {
        checker.check_record(entry.name, r);
        references.record(entry.name, r);
      }
    }
    if (entry.action ==
        LedgerAction::kMerged) {  // records already there stay: references may point at them
      CM_ASSIGN_OR_RETURN(auto existing, ctx.target.find_collection(entry.name));
      for (std::uint64_t offset = 0; existing; offset += 10000) {
        CM_ASSIGN_OR_RETURN(auto ids, ctx.target.list_ids(*existing, offset, 10000));
        checker.add_existing_ids(ids);
        references.existing(ids);
        if (ids.size() < 10000) break;
      }
    }
  }
  auto judged = judged_by_this_shard(ctx, "preflight", checker.finish());
  const bool only_left_aside = judged.empty();
  CM_RETURN_IF_ERROR(handle_findings(ctx, "preflight", judged, &references));
  // A shard with --allow-contract-drift whose only findings were dangling references (left to the
  // merged validation) accepts them as an unsharded run would: recorded for the merged validation.
  if (ctx.options.shard && ctx.options.allow_contract_drift && only_left_aside &&
      references.any()) {
    spdlog::warn(
        "preflight: dangling references accepted because of --allow-contract-drift "
        "(recorded in {} for the merged validation)",
        ctx.work.accepted_drift().string());
    CM_RETURN_IF_ERROR(write_accepted(ctx, "preflight", nlohmann::json::array(), references));
  }
  return ok_status();
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
  return handle_findings(ctx, "postflight",
                         judged_by_this_shard(ctx, "postflight", checker.finish()));
}

}  // namespace cm::migrate
