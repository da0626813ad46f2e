// Export: source collections -> the work directory's source snapshot. Per collection, an id scan
// (checkpointed once complete), then batches fetched by explicit ids and written as snapshot
// parts, each checkpointed after its part is durable. The snapshot is sealed (manifest written)
// when every collection is exported.
//
// A live source keeps taking writes: the scan is fuzzy (id_scan.hpp), and an id the scan listed
// that is gone by the time its batch is fetched ("vanished": deleted meanwhile) is left out and
// counted. The snapshot then holds exactly what was read, each record as it was when fetched;
// what changed around it is what chroma-migrate --sync finds and applies.
#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "common/base/batch_runner.hpp"
#include "common/base/progress.hpp"
#include "common/run/id_scan.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/import_stream.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

// Ids a batch asked for that the source did not return, and whether it returned any id it was
// not asked for (a server fault, not a live source).
struct BatchGaps {
  std::vector<std::string> vanished;
  bool unasked = false;
};
BatchGaps gaps_of(const std::vector<std::string>& asked, const std::vector<Record>& got) {
  if (got.size() == asked.size() &&
      std::equal(got.begin(), got.end(), asked.begin(),
                 [](const Record& r, const std::string& id) { return r.id == id; })) {
    return {};  // every id, in the order asked: the usual answer, checked without hashing
  }
  std::unordered_set<std::string_view> want(asked.begin(), asked.end());
  std::unordered_set<std::string_view> have;
  BatchGaps out;
  for (const auto& r : got) {
    out.unasked |= !want.contains(r.id);
    have.insert(r.id);
  }
  for (const auto& id : asked) {
    if (!have.contains(id)) out.vanished.push_back(id);
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
  // A shard scans every id (ids only: cheap) and keeps the ones it owns; the rest of the run
  // only ever sees those.
  CM_ASSIGN_OR_RETURN(auto result,
                      scan_ids(ctx.source, src, ctx.batch_size, ctx.work.scan_file(src.name),
                               ScanMode::kFuzzy, ctx.options.shard));
  return ctx.checkpoint.update([&](ckpt::Checkpoint& c) {
    auto& s = c.progress(kStageScan, src.name);
    s.finished = true;
    s.details = {{"id_count", result.id_count},        {"batch_count", result.batch_count},
                 {"source_changed", result.changed()}, {"count_before", result.count_before},
                 {"count_after", result.count_after},  {"duplicates", result.duplicates},
                 {"other_shards", result.other_shards}};
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
Result<std::optional<ExportItem>> plan_export(PhaseContext& ctx, WorkSnapshot& snapshot,
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
std::size_t distinct_ids(const std::vector<Record>& records) {
  std::unordered_set<std::string_view> ids;
  for (const auto& r : records) ids.insert(r.id);
  return ids.size();
}

// `stream`: the pipelined import (import_stream.hpp), handed each part once it is durable.
Status export_batches(PhaseContext& ctx, VectorStore& snapshot, std::vector<ExportItem>& items,
                      ImportStream* stream) {
  BatchPlan plan;
  std::uint64_t total = 0, already = 0;
  for (const auto& item : items) {
    plan.add(item.batches.batch_count());
    total += item.ids;
    already += std::min<std::uint64_t>(item.done.size() * ctx.batch_size, item.ids);
  }
  Progress bar("export", total, already);
  std::mutex vanished_mutex;
  std::unordered_map<std::size_t, std::uint64_t> vanished;  // per batch, until checkpointed
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    auto [c, i] = plan.locate(g);
    const auto& item = items[c];
    CM_ASSIGN_OR_RETURN(auto ids, item.batches.batch(i));
    CM_ASSIGN_OR_RETURN(auto records, ctx.source.get_records(item.source, ids));
    const BatchGaps gaps = gaps_of(ids, records);
    if (gaps.unasked || records.size() + gaps.vanished.size() != ids.size()) {
      return make_error(ErrorCode::kProtocol,
                        "source answered a get of " + std::to_string(ids.size()) + " ids of '" +
                            item.source.name + "' with " + std::to_string(records.size()) +
                            " records that are not those ids; nothing of this batch was written");
    }
    if (!gaps.vanished.empty()) {
      spdlog::info("{}: {} record(s) deleted at the source since the id scan (e.g. {}): left out",
                   item.source.name, gaps.vanished.size(), gaps.vanished.front());
    }
    CM_RETURN_IF_ERROR(snapshot.upsert(item.snapshot, records));
    if (stream && !records.empty()) {
      CM_RETURN_IF_ERROR(stream->push(item.snapshot.name, snapshot::part_file_name(records),
                                      distinct_ids(records)));
    }
    std::lock_guard lock(vanished_mutex);
    vanished[g] = gaps.vanished.size();
    return ids.size();
  };
  work.completed = [&](std::size_t g, std::size_t asked) -> Status {
    auto [c, i] = plan.locate(g);
    bar.advance(asked);
    std::uint64_t gone = 0;
    {
      std::lock_guard lock(vanished_mutex);
      gone = vanished[g];
    }
    return ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
      auto& p = cp.progress(kStageExport, items[c].source.name);
      p.done.insert(i);
      if (gone) p.details["vanished"] = p.details.value("vanished", std::uint64_t{0}) + gone;
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

Result<std::uint64_t> run_export_phase(PhaseContext& ctx) {
  CM_ASSIGN_OR_RETURN(auto work,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kSourceSnapshot),
                                         SnapshotStore::Mode::kWrite));
  VectorStore* snapshot = work.store.get();
  work.snapshot->set_description("export of " + ctx.source.describe() + " by run " +
                                 ctx.manifest.get().run_id);
  const auto manifest = ctx.manifest.get();
  std::vector<ExportItem> items;
  for (const auto& name : manifest.source_collections) {
    auto item = plan_export(ctx, work, name);
    if (!item)
      return std::unexpected(std::move(item).error().with_context("exporting '" + name + "'"));
    if (*item) items.push_back(std::move(**item));
  }
  std::unique_ptr<ImportStream> stream;
  if (pipelining_allowed(ctx) && !items.empty()) {
    CM_ASSIGN_OR_RETURN(stream, ImportStream::start(ctx, *work.snapshot));
  }
  CM_RETURN_IF_ERROR(export_batches(ctx, *snapshot, items, stream.get()));
  std::uint64_t streamed = 0;
  if (stream) {
    CM_ASSIGN_OR_RETURN(streamed, stream->finish());
  }
  CM_RETURN_IF_ERROR(snapshot->flush());
  // The sealed snapshot must hold exactly the distinct ids the scan saw, less those deleted at
  // the source before their batch was fetched: anything else is a fault of this suite.
  auto state = ctx.checkpoint.snapshot();
  for (const auto& name : manifest.source_collections) {
    CM_ASSIGN_OR_RETURN(auto info, snapshot->find_collection(name));
    CM_ASSIGN_OR_RETURN(auto count, snapshot->count(*info));
    const auto& scan = state.find(kStageScan, name)->details;
    const auto vanished =
        state.find(kStageExport, name)->details.value("vanished", std::uint64_t{0});
    const auto expected = scan["id_count"].get<std::uint64_t>() - vanished;
    if (count != expected) {
      return make_error(ErrorCode::kVerifyFailed,
                        "snapshot of '" + name + "' holds " + std::to_string(count) +
                            " records but the export wrote " + std::to_string(expected) +
                            " (ids scanned less those deleted meanwhile); start a new run");
    }
    if (scan.value("source_changed", false) || vanished) {
      spdlog::warn(
          "{} changed while it was exported ({} records when the scan began, {} when it ended, "
          "{} deleted before their batch was read): the snapshot holds {} records as they were "
          "read; run chroma-migrate --sync --work-dir {} to catch up before the cutover",
          name, scan.value("count_before", std::uint64_t{0}),
          scan.value("count_after", std::uint64_t{0}), vanished, count, ctx.work.root().string());
    }
  }
  spdlog::info("export complete: snapshot sealed at {}",
               ctx.work.snapshot(WorkDir::kSourceSnapshot).string());
  CM_RETURN_IF_ERROR(
      ctx.checkpoint.update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kTransform; }));
  return streamed;
}

}  // namespace cm::migrate
