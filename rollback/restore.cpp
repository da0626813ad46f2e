// Step 3 of execute.hpp: recreate replaced/merged collections from the verified backup, exactly as
// they were before the run (the backup's name, metadata and hnsw configuration; no ledger keys),
// then upsert every backup part. Parts are journalled as the target acknowledges them.
#include <chrono>

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/collection_copy.hpp"
#include "common/progress.hpp"
#include "rollback/execute.hpp"
#include "rollback/plan.hpp"

namespace cm::rollback {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A collection found under the name after "creating" was journalled is the one this rollback
// created (the crash fell between the create and the bookkeeping) when it looks exactly like the
// backup's and carries no ledger key of the run; anything else is someone else's.
Result<CollectionInfo> adopt(const std::optional<CollectionInfo>& found,
                             const ManifestCollection& bc, const std::string& run_id) {
  if (found && !owned_by_run(*found, run_id) && found->metadata == bc.info.metadata &&
      found->hnsw == bc.info.hnsw) {
    return *found;
  }
  return make_error(ErrorCode::kAlreadyExists,
                    "cannot restore '" + bc.info.name + "': the name is taken by collection " +
                        (found ? found->id : std::string("?")) +
                        ", which is not the one this rollback created; move it away, then run "
                        "chroma-rollback again");
}

// Creates (or, after a crash, recognises) the collection; returns it with its journalled state.
Result<CollectionInfo> create_or_adopt(ExecContext& ctx, std::size_t i,
                                       const ManifestCollection& bc) {
  const Journal j = ctx.journal.get();
  const RestoreItem r = j.restores[i];
  if (r.state == "created") {
    CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(r.name));
    if (!found || found->id != r.collection_id) {
      return make_error(ErrorCode::kVerifyFailed,
                        "collection '" + r.name + "' that this rollback created (id " +
                            r.collection_id +
                            ") is gone or was replaced; run chroma-rollback "
                            "again after checking the target");
    }
    return *found;
  }
  const auto start = Clock::now();
  std::optional<CollectionInfo> info;
  if (r.state == "creating") {
    CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(r.name));
    if (found) {
      CM_ASSIGN_OR_RETURN(info, adopt(found, bc, j.run_id));
    }
  }
  if (!info) {
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.restores[i].state = "creating";
      if (next.restores[i].started_at.empty()) next.restores[i].started_at = now_iso8601();
    }));
    CollectionSpec spec{bc.info.name, bc.info.metadata, bc.info.hnsw, bc.info.configuration};
    auto created = ctx.target.create_collection(spec);
    if (!created && created.error().code == ErrorCode::kAlreadyExists) {
      CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(r.name));
      created = adopt(found, bc, j.run_id);
    }
    if (!created) return std::unexpected(std::move(created).error());
    info = *created;
  }
  CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
    next.restores[i].state = "created";
    next.restores[i].collection_id = info->id;
    next.actions.push_back({"create", r.name,
                            "from the backup (space " + bc.info.hnsw.space + ", " +
                                std::to_string(bc.info.metadata.size()) + " metadata keys)",
                            now_iso8601(), since(start)});
  }));
  spdlog::info("recreated {} from the backup (space {})", r.name, bc.info.hnsw.space);
  return *info;
}

}  // namespace

Status restore_from_backup(ExecContext& ctx) {
  const std::size_t n = ctx.journal.get().restores.size();
  for (std::size_t i = 0; i < n; ++i) {
    const RestoreItem r = ctx.journal.get().restores[i];
    if (r.state == "restored") continue;
    const auto manifest = ctx.backup ? ctx.backup->manifest() : std::nullopt;
    const auto* bc = manifest ? manifest->find(r.name) : nullptr;
    if (!bc) {
      return make_error(ErrorCode::kCorruption,
                        "the backup does not hold '" + r.name + "', which must be restored");
    }
    CM_ASSIGN_OR_RETURN(CollectionInfo info, create_or_adopt(ctx, i, *bc));
    const ckpt::BatchSet done = ctx.journal.get().restores[i].parts_done;
    std::uint64_t already = 0;
    for (std::size_t p = 0; p < bc->parts.size(); ++p) {
      if (done.contains(p)) already += bc->parts[p].records;
    }
    Progress bar("restore " + r.name, bc->record_count, already);
    UpsertFromSnapshotOptions options;
    options.max_batch = ctx.max_batch;
    options.workers = ctx.options.workers;
    options.already_done = [&](std::size_t part) { return done.contains(part); };
    options.completed = [&](std::size_t part, std::size_t records) {
      bar.advance(records);
      return ctx.journal.update([&](Journal& next) {
        next.restores[i].parts_done.insert(part);
        next.restores[i].records_sent += records;
      });
    };
    const auto start = Clock::now();
    CM_ASSIGN_OR_RETURN(std::uint64_t sent,
                        upsert_from_snapshot(*ctx.backup, r.name, ctx.target, info, options));
    const double seconds = since(start);
    bar.finish();
    CM_ASSIGN_OR_RETURN(std::uint64_t count, ctx.target.count(info));
    if (count != bc->record_count) {
      return make_error(ErrorCode::kVerifyFailed,
                        "restored '" + r.name + "' holds " + std::to_string(count) +
                            " records, the backup " + std::to_string(bc->record_count));
    }
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      auto& item = next.restores[i];
      item.state = "restored";
      item.finished_at = now_iso8601();
      item.upsert_seconds += seconds;
      item.timed_records += sent;
      if (auto* l = next.find_live(r.name); l && l->restored_at.empty())
        l->restored_at = item.finished_at;
      next.actions.push_back({"restore", r.name,
                              std::to_string(sent) + " records upserted this invocation, " +
                                  std::to_string(count) + " in the collection",
                              item.finished_at, seconds});
    }));
    spdlog::info("restored {}: {} records from the backup in {:.2f}s", r.name, count, seconds);
  }
  return ok_status();
}

}  // namespace cm::rollback
