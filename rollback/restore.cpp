// Step 3 of execute.hpp: recreate replaced/merged collections from the verified backup, exactly as
// they were before the run (the backup's name, metadata and hnsw configuration; no ledger keys),
// then upsert every backup part, all collections behind one queue. Parts are journalled as the
// target acknowledges them.
#include <chrono>
#include <span>

#include <spdlog/spdlog.h>

#include "common/base/batch_runner.hpp"
#include "common/base/clock.hpp"
#include "common/base/progress.hpp"
#include "rollback/execute.hpp"
#include "rollback/plan.hpp"

namespace cm::rollback {
namespace {

using Clock = std::chrono::steady_clock;

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
  if (r.state == RestoreState::kCreated) {
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
  if (r.state == RestoreState::kCreating) {
    CM_ASSIGN_OR_RETURN(auto found, ctx.target.find_collection(r.name));
    if (found) {
      CM_ASSIGN_OR_RETURN(info, adopt(found, bc, j.run_id));
    }
  }
  if (!info) {
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      next.restores[i].state = RestoreState::kCreating;
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
    next.restores[i].state = RestoreState::kCreated;
    next.restores[i].collection_id = info->id;
    next.actions.push_back({.action = ActionKind::kCreate,
                            .collection = r.name,
                            .detail = "from the backup (space " + bc.info.hnsw.space + ", " +
                                      std::to_string(bc.info.metadata.size()) + " metadata keys)",
                            .at = now_iso8601(),
                            .seconds = seconds_since(start)});
  }));
  spdlog::info("recreated {} from the backup (space {})", r.name, bc.info.hnsw.space);
  return *info;
}

}  // namespace

Status restore_from_backup(ExecContext& ctx) {
  const auto manifest = ctx.backup ? ctx.backup->manifest() : std::nullopt;
  // Every collection still to restore is created first; then all their parts go through one queue
  // (as migrate's import does), so the workers never idle at the tail of a small collection.
  struct Item {
    std::size_t index;  // into the journal's restores
    std::string name;
    CollectionInfo info;
    const ManifestCollection* backup;
    ckpt::BatchSet done;
  };
  std::vector<Item> items;
  std::uint64_t total = 0, already = 0;
  for (std::size_t i = 0; i < ctx.journal.get().restores.size(); ++i) {
    const RestoreItem r = ctx.journal.get().restores[i];
    if (r.state == RestoreState::kRestored) continue;
    const auto* bc = manifest ? manifest->find(r.name) : nullptr;
    if (!bc) {
      return make_error(ErrorCode::kCorruption,
                        "the backup does not hold '" + r.name + "', which must be restored");
    }
    CM_ASSIGN_OR_RETURN(CollectionInfo info, create_or_adopt(ctx, i, *bc));
    Item item{i, r.name, std::move(info), bc, ctx.journal.get().restores[i].parts_done};
    total += bc->record_count;
    for (std::size_t p = 0; p < bc->parts.size(); ++p) {
      if (item.done.contains(p)) already += bc->parts[p].records;
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) return ok_status();

  BatchPlan plan;
  for (const auto& item : items) plan.add(item.backup->parts.size());
  std::vector<std::uint64_t> sent(items.size(), 0);
  Progress bar("restore", total, already);
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    const auto [c, part] = plan.locate(g);
    CM_ASSIGN_OR_RETURN(auto records, ctx.backup->read_part(items[c].name, part));
    std::span<const Record> all(records);
    const std::size_t max_batch = std::max<std::size_t>(1, ctx.max_batch);
    for (std::size_t at = 0; at < all.size(); at += max_batch) {
      CM_RETURN_IF_ERROR(
          ctx.target.upsert(items[c].info, all.subspan(at, std::min(max_batch, all.size() - at))));
    }
    return records.size();
  };
  work.completed = [&](std::size_t g, std::size_t records) {
    const auto [c, part] = plan.locate(g);
    sent[c] += records;
    bar.advance(records);
    return ctx.journal.update([&](Journal& next) {
      next.restores[items[c].index].parts_done.insert(part);
      next.restores[items[c].index].records_sent += records;
    });
  };
  const auto start = Clock::now();
  CM_RETURN_IF_ERROR(run_batches(
      plan.total(),
      [&](std::size_t g) {
        const auto [c, part] = plan.locate(g);
        return items[c].done.contains(part);
      },
      ctx.options.workers, work));
  const double seconds = seconds_since(start);
  bar.finish();

  for (std::size_t c = 0; c < items.size(); ++c) {
    const auto& item = items[c];
    CM_ASSIGN_OR_RETURN(std::uint64_t count, ctx.target.count(item.info));
    if (count != item.backup->record_count) {
      return make_error(ErrorCode::kVerifyFailed,
                        "restored '" + item.name + "' holds " + std::to_string(count) +
                            " records, the backup " + std::to_string(item.backup->record_count));
    }
    CM_RETURN_IF_ERROR(ctx.journal.update([&](Journal& next) {
      auto& r = next.restores[item.index];
      r.state = RestoreState::kRestored;
      r.finished_at = now_iso8601();
      // The collections shared one queue: each is charged the queue's time in proportion to its
      // records, so the summed rate is the queue's rate.
      r.upsert_seconds += total > already ? seconds * static_cast<double>(sent[c]) /
                                                static_cast<double>(total - already)
                                          : 0;
      r.timed_records += sent[c];
      if (auto* l = next.find_live(item.name); l && l->restored_at.empty())
        l->restored_at = r.finished_at;
      next.actions.push_back({.action = ActionKind::kRestore,
                              .collection = item.name,
                              .detail = std::to_string(sent[c]) +
                                        " records upserted this invocation, " +
                                        std::to_string(count) + " in the collection",
                              .at = r.finished_at,
                              .seconds = seconds});
    }));
    spdlog::info("restored {}: {} records from the backup", item.name, count);
  }
  spdlog::info("restore: {} records in {:.2f}s ({:.0f} records/s)", total - already, seconds,
               seconds > 0 ? static_cast<double>(total - already) / seconds : 0.0);
  return ok_status();
}

}  // namespace cm::rollback
