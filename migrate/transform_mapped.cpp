#include "migrate/transform_mapped.hpp"

#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/batch_runner.hpp"
#include "common/base/progress.hpp"
#include "common/snapshot/snapshot_store.hpp"

namespace cm::migrate {
namespace {

constexpr std::size_t kMaxSkipSamples = 20;

// What one export part produced; merged into the checkpoint when the part is marked done.
struct PartCounts {
  std::map<std::string, std::uint64_t> by_target;
  std::map<std::string, std::map<std::string, std::uint64_t>>
      by_route;  // target -> route -> records
  std::uint64_t skipped_unmatched = 0, skipped_cast = 0;
  nlohmann::json samples = nlohmann::json::array();
};

void merge_counts(nlohmann::json& details, const PartCounts& counts) {
  for (const char* key : {"routed", "routes"}) {
    if (!details[key].is_object()) details[key] = nlohmann::json::object();
  }
  for (const auto& [k, v] : counts.by_target)
    details["routed"][k] = details["routed"].value(k, std::uint64_t{0}) + v;
  for (const auto& [target, routes] : counts.by_route) {
    auto& slot = details["routes"][target];
    if (!slot.is_object()) slot = nlohmann::json::object();
    for (const auto& [route, v] : routes) slot[route] = slot.value(route, std::uint64_t{0}) + v;
  }
  details["skipped_unmatched"] =
      details.value("skipped_unmatched", std::uint64_t{0}) + counts.skipped_unmatched;
  details["skipped_cast_failure"] =
      details.value("skipped_cast_failure", std::uint64_t{0}) + counts.skipped_cast;
  auto& samples = details["skipped_samples"];
  if (!samples.is_array()) samples = nlohmann::json::array();
  for (const auto& s : counts.samples) {
    if (samples.size() < kMaxSkipSamples) samples.push_back(s);
  }
}

Result<std::map<std::string, CollectionInfo>> create_targets(PhaseContext& ctx,
                                                             VectorStore& exported,
                                                             VectorStore& transformed) {
  std::vector<CollectionInfo> sources;
  for (const auto& name : ctx.manifest.get().source_collections) {
    CM_ASSIGN_OR_RETURN(auto info, exported.find_collection(name));
    if (!info)
      return make_error(ErrorCode::kCorruption, "export snapshot lacks collection " + name);
    sources.push_back(*info);
  }
  CM_ASSIGN_OR_RETURN(auto specs, contracts::plan_target_collections(*ctx.mapping, sources));
  std::map<std::string, CollectionInfo> targets;
  for (const auto& spec : specs) {
    CM_ASSIGN_OR_RETURN(auto existing, transformed.find_collection(spec.name));
    if (existing) {
      targets[spec.name] = *existing;
    } else {
      CM_ASSIGN_OR_RETURN(targets[spec.name], transformed.create_collection(spec));
    }
  }
  return targets;
}

Status write_report(PhaseContext& ctx, const std::map<std::string, std::uint64_t>& landed) {
  auto state = ctx.checkpoint.snapshot();
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& [name, p] : state.stages[kStageTransform]) sources[name] = p.details;
  nlohmann::json report = {
      {"run_id", ctx.manifest.get().run_id}, {"sources", sources}, {"targets", landed}};
  return write_file_atomic(ctx.work.transform_report(), report.dump(2) + "\n");
}

}  // namespace

Status mapped_transform(PhaseContext& ctx) {
  CM_ASSIGN_OR_RETURN(auto exported_work,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kSourceSnapshot),
                                         SnapshotStore::Mode::kRead));
  CM_ASSIGN_OR_RETURN(auto transformed_work,
                      open_work_snapshot(ctx, ctx.work.snapshot(WorkDir::kTransformedSnapshot),
                                         SnapshotStore::Mode::kWrite));
  VectorStore* exported = exported_work.store.get();
  VectorStore* transformed = transformed_work.store.get();
  const auto manifest = ctx.manifest.get();
  transformed_work.snapshot->set_description("run " + manifest.run_id + ": " + ctx.mapping->origin +
                                             " applied to " + manifest.source);
  CM_ASSIGN_OR_RETURN(auto targets, create_targets(ctx, *exported, *transformed));

  BatchPlan plan;
  std::vector<std::string> names = manifest.source_collections;
  std::vector<ckpt::BatchSet> done;
  std::uint64_t total = 0;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(std::size_t parts, exported_work.snapshot->part_count(name));
    plan.add(parts);
    const auto state = ctx.checkpoint.snapshot();
    const auto* p = state.find(kStageTransform, name);
    done.push_back(p ? p->done : ckpt::BatchSet{});
    CM_ASSIGN_OR_RETURN(auto info, exported->find_collection(name));
    CM_ASSIGN_OR_RETURN(auto n, exported->count(*info));
    total += n;
  }
  const contracts::TransformContext tctx{manifest.run_id, manifest.started_at};
  std::mutex mutex;
  std::map<std::size_t, PartCounts> pending;
  Progress bar("transform", total);
  BatchWork work;
  work.run = [&](std::size_t g) -> Result<std::size_t> {
    auto [c, i] = plan.locate(g);
    CM_ASSIGN_OR_RETURN(auto records, exported_work.snapshot->read_part(names[c], i));
    PartCounts counts;
    std::map<std::string, std::vector<Record>> by_target;
    for (const auto& r : records) {
      auto t = contracts::transform_record(*ctx.mapping, names[c], r, tctx);
      if (!t)
        return std::unexpected(
            std::move(t).error().with_context("transforming '" + names[c] + "'"));
      using Outcome = contracts::Transformed::Outcome;
      if (t->outcome == Outcome::kRouted) {
        ++counts.by_target[t->target];
        ++counts.by_route[t->target][t->route];
        by_target[t->target].push_back(std::move(t->record));
        continue;
      }
      (t->outcome == Outcome::kSkippedUnmatched ? counts.skipped_unmatched : counts.skipped_cast)++;
      if (counts.samples.size() < kMaxSkipSamples)
        counts.samples.push_back({{"id", r.id}, {"reason", t->problem}});
    }
    for (const auto& [target, group] : by_target)
      CM_RETURN_IF_ERROR(transformed->upsert(targets.at(target), group));
    std::lock_guard lock(mutex);
    pending[g] = std::move(counts);
    return records.size();
  };
  work.completed = [&](std::size_t g, std::size_t n) -> Status {
    auto [c, i] = plan.locate(g);
    PartCounts counts;
    {
      std::lock_guard lock(mutex);
      counts = std::move(pending.at(g));
      pending.erase(g);
    }
    bar.advance(n);
    return ctx.checkpoint.update([&](ckpt::Checkpoint& cp) {
      auto& p = cp.progress(kStageTransform, names[c]);
      p.done.insert(i);
      merge_counts(p.details, counts);
    });
  };
  auto already_done = [&](std::size_t g) {
    auto [c, i] = plan.locate(g);
    return done[c].contains(i);
  };
  CM_RETURN_IF_ERROR(run_batches(plan.total(), already_done, ctx.options.workers, work));
  bar.finish();
  CM_RETURN_IF_ERROR(transformed->flush());

  // Records routed to a target must all land: fewer distinct ids means two records got one id.
  std::map<std::string, std::uint64_t> routed, landed;
  std::map<std::string, std::set<std::string>> fed_by;
  const auto state = ctx.checkpoint.snapshot();
  for (const auto& [name, p] : state.stages.at(kStageTransform)) {
    const auto routed_here = p.details.value("routed", nlohmann::json::object());
    for (const auto& [target, n] : routed_here.items()) {
      routed[target] += n.get<std::uint64_t>();
      fed_by[target].insert(name);
    }
  }
  for (const auto& [name, info] : targets) {
    CM_ASSIGN_OR_RETURN(landed[name], transformed->count(info));
    if (landed[name] < routed[name]) {
      return make_error(
          ErrorCode::kVerifyFailed,
          std::to_string(routed[name] - landed[name]) + " of " + std::to_string(routed[name]) +
              " records routed to '" + name +
              "' share an id with another record (id collision across merged sources): add an "
              "id_template such as \"{source_collection}/{id}\" to the mapping");
    }
  }
  CM_RETURN_IF_ERROR(write_report(ctx, landed));
  CM_RETURN_IF_ERROR(ctx.manifest.update([&](RunManifest& m) {
    m.import_snapshot = WorkDir::snapshot_relative(WorkDir::kTransformedSnapshot);
    for (auto& entry : m.target_collections) {
      entry.expected_records = landed[entry.name];
      entry.source_collections.assign(fed_by[entry.name].begin(), fed_by[entry.name].end());
    }
  }));
  for (const auto& [name, n] : landed) spdlog::info("transform: {} <- {} records", name, n);
  return ok_status();
}

}  // namespace cm::migrate
