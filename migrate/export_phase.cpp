// Export: source collections -> the work directory's source snapshot. Per collection, an id scan
// (checkpointed once complete), then batches fetched by explicit ids and written as snapshot
// parts, each checkpointed after its part is durable. The snapshot is sealed (manifest written)
// when every collection is exported.
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/base/batch_runner.hpp"
#include "common/base/progress.hpp"
#include "common/run/id_scan.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

// Names up to five ids a batch asked for but the source did not return.
std::string missing_ids(const std::vector<std::string>& asked, const std::vector<Record>& got) {
  std::unordered_set<std::string_view> have;
  for (const auto& r : got) have.insert(r.id);
  std::string out;
  int shown = 0;
  for (const auto& id : asked) {
    if (have.contains(id)) continue;
    if (shown++ == 5) return out + ", ...";
    out += (out.empty() ? "" : ", ") + id;
  }
  return out;
}

Result<CollectionInfo> ensure_snapshot_collection(WorkSnapshot& snapshot,
                                                  const CollectionInfo& src) {
  CM_ASSIGN_OR_RETURN(auto existing, snapshot.store->find_collection(src.name));
  if (existing) return *existing;
  return snapshot.snapshot->create_collection_from(
      src);  // keeps the source's id and configuration verbatim
}

Status scan_if_needed(PhaseContext& ctx, const CollectionInfo& src) {
  const auto state = ctx.checkpoint.snapshot();
  if (const auto* scan = state.find(kStageScan, src.name); scan && scan->finished)
    return ok_status();
  spdlog::info("scanning ids of {}", src.name);
  CM_ASSIGN_OR_RETURN(auto result,
                      scan_ids(ctx.source, src, ctx.batch_size, ctx.work.scan_file(src.name)));
  return ctx.checkpoint.update([&](ckpt::Checkpoint& c) {
    auto& s = c.progress(kStageScan, src.name);
    s.finished = true;
    s.details = {{"id_count", result.id_count}, {"batch_count", result.batch_count}};
    c.progress(kStageExport, src.name).total_batches = result.batch_count;
  });
}

// One source collection's share of the export, ready to run.
struct ExportItem {
  CollectionInfo source;
  CollectionInfo snapshot;
  IdBatchFile batches;
  ckpt::BatchSet done;
  std::uint64_t ids = 0;
};

// Scans (if not yet done) and plans one collection; nullopt when its export already finished.
Result<std::optional<ExportItem>> plan_collection(PhaseContext& ctx, WorkSnapshot& snapshot,
                                                  const std::string& name) {
  CM_ASSIGN_OR_RETURN(auto found, ctx.source.find_collection(name));
  if (!found) {
    return make_error(ErrorCode::kNotFound,
                      "source collection '" + name +
                          "' disappeared during the run; restore it or start a new run");
  }
  CM_ASSIGN_OR_RETURN(CollectionInfo dst, ensure_snapshot_collection(snapshot, *found));
  CM_RETURN_IF_ERROR(scan_if_needed(ctx, *found));
  auto state = ctx.checkpoint.snapshot();
  const auto& progress = *state.find(kStageExport, name);
  if (progress.finished) return std::nullopt;
  CM_ASSIGN_OR_RETURN(auto batches, IdBatchFile::open(ctx.work.scan_file(name)));
  if (batches.batch_count() != progress.total_batches) {
    return make_error(ErrorCode::kCorruption,
                      "id scan file of " + name + " has " + std::to_string(batches.batch_count()) +
                          " batches, checkpoint expects " + std::to_string(progress.total_batches));
  }
  const auto ids = state.find(kStageScan, name)->details["id_count"].get<std::uint64_t>();
  return ExportItem{*found, dst, std::move(batches), progress.done, ids};
}

// Fetches every planned batch by explicit ids into the snapshot, all collections behind one queue.
Status export_batches(PhaseContext& ctx, VectorStore& snapshot, std::vector<ExportItem>& items) {
  BatchPlan plan;
  std::uint64_t total = 0, already = 0;
  for (const auto& item : items) {
    plan.add(item.batches.batch_count());
    total += item.ids;
    already += std::min<std::uint64_t>(item.done.size() * ctx.batch_size, item.ids);
  }
  Progress bar("export", total, already);
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    auto [c, i] = plan.locate(g);
    const auto& item = items[c];
    CM_ASSIGN_OR_RETURN(auto ids, item.batches.batch(i));
    CM_ASSIGN_OR_RETURN(auto records, ctx.source.get_records(item.source, ids));
    if (records.size() != ids.size()) {
      return make_error(
          ErrorCode::kVerifyFailed,
          "source returned " + std::to_string(records.size()) + " of " +
              std::to_string(ids.size()) + " requested records of '" + item.source.name +
              "' (missing: " + missing_ids(ids, records) +
              "): the source changed during the export; stop writes and start a new run");
    }
    CM_RETURN_IF_ERROR(snapshot.upsert(item.snapshot, records));
    return records.size();
  };
  work.completed = [&](std::size_t g, std::size_t records) -> Status {
    auto [c, i] = plan.locate(g);
    bar.advance(records);
    return ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
      cp.progress(kStageExport, items[c].source.name).done.insert(i);
    });
  };
  auto already_done = [&](std::size_t g) {
    auto [c, i] = plan.locate(g);
    return items[c].done.contains(i);
  };
  CM_RETURN_IF_ERROR(run_batches(plan.total(), already_done, ctx.options.workers, work));
  bar.finish();
  return ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
    for (const auto& item : items) cp.progress(kStageExport, item.source.name).finished = true;
  });
}

}  // namespace

Status run_export_phase(PhaseContext& ctx) {
  CM_ASSIGN_OR_RETURN(auto work,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kSourceSnapshot),
                                         SnapshotStore::Mode::kWrite));
  VectorStore* snapshot = work.store.get();
  work.snapshot->set_description("export of " + ctx.source.describe() + " by run " +
                                 ctx.manifest.get().run_id);
  const auto manifest = ctx.manifest.get();
  std::vector<ExportItem> items;
  for (const auto& name : manifest.source_collections) {
    auto item = plan_collection(ctx, work, name);
    if (!item)
      return std::unexpected(std::move(item).error().with_context("exporting '" + name + "'"));
    if (*item) items.push_back(std::move(**item));
  }
  CM_RETURN_IF_ERROR(export_batches(ctx, *snapshot, items));
  CM_RETURN_IF_ERROR(snapshot->flush());
  // The sealed snapshot must hold exactly the ids the scan saw: fewer means the scan paged over
  // duplicates, i.e. the source moved underneath it.
  auto state = ctx.checkpoint.snapshot();
  for (const auto& name : manifest.source_collections) {
    CM_ASSIGN_OR_RETURN(auto info, snapshot->find_collection(name));
    CM_ASSIGN_OR_RETURN(auto count, snapshot->count(*info));
    auto expected = state.find(kStageScan, name)->details["id_count"].get<std::uint64_t>();
    if (count != expected) {
      return make_error(
          ErrorCode::kVerifyFailed,
          "snapshot of '" + name + "' holds " + std::to_string(count) +
              " distinct records but the id scan saw " + std::to_string(expected) +
              ": the source changed during the export; stop writes and start a new run");
    }
  }
  spdlog::info("export complete: snapshot sealed at {}",
               ctx.work.snapshot(WorkDir::kSourceSnapshot).string());
  return ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kTransform; });
}

}  // namespace cm::migrate
