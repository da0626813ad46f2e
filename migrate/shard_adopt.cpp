#include "migrate/shard_adopt.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace cm::migrate {
namespace {

std::string metadata_text(const CollectionInfo& info, const char* key) {
  auto it = info.metadata.find(key);
  return it != info.metadata.end() && std::holds_alternative<std::string>(it->second)
             ? std::get<std::string>(it->second)
             : std::string("(none)");
}

}  // namespace

Result<CollectionInfo> adopt_run_collection(PhaseContext& ctx, const std::string& ledger_name,
                                            CollectionInfo existing, bool created_here) {
  if (!ctx.options.shard) return existing;
  const auto manifest = ctx.manifest.get();
  const auto* entry = manifest.find_target(ledger_name);
  if (!entry) {
    return make_error(ErrorCode::kInternal, "no ledger entry for '" + ledger_name + "'");
  }
  if (!entry->collection_id.empty()) {
    if (entry->collection_id == existing.id) return existing;
    return make_error(ErrorCode::kAlreadyExists,
                      "target collection '" + existing.name + "' has id " + existing.id +
                          ", but this shard recorded " + entry->collection_id +
                          " (run.json): it was deleted and re-created meanwhile; nothing was "
                          "written into it. Investigate, then start a new run");
  }
  // Same configuration: the ledger keys every collection of the run carries.
  const Metadata ours = with_ledger_keys({}, manifest);
  for (const char* key : {kLedgerMappingHash, kLedgerContractVersion}) {
    const std::string want = std::get<std::string>(ours.at(key));
    if (const std::string have = metadata_text(existing, key); have != want) {
      return make_error(ErrorCode::kConfigMismatch,
                        "target collection '" + existing.name + "' of run " + manifest.run_id +
                            " was created by another shard with " + key + " " + have +
                            ", this shard has " + want +
                            ": every shard of a run must be started with the same command "
                            "(only --shard differs); nothing was written");
    }
  }
  CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
    auto* e = m.find_target(ledger_name);
    e->collection_id = existing.id;
    e->adopted = !created_here;
    e->state = std::max(e->state, LedgerState::kCreated);
  }));
  if (!created_here) {
    spdlog::info("adopted target collection {} (id {}): created by another shard of run {}",
                 existing.name, existing.id, manifest.run_id);
  }
  return existing;
}

}  // namespace cm::migrate
