#include "migrate/migration.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include "checkpoints/checkpoint.hpp"
#include "common/atomic_file.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/store_factory.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {
namespace {

constexpr const char* kStageInit = "init";

// The part of the options a checkpoint is bound to. Workers, retries and verbosity may change
// between invocations; anything that changes which batches exist or where they go may not.
nlohmann::json bound_config(const MigrateOptions& o) {
  return {{"source", o.source.redacted()},
          {"target", o.target.redacted()},
          {"collections", o.collections},
          {"batch_size", o.batch_size}};
}

Status validate_options(const MigrateOptions& o) {
  auto bad = [](const std::string& why) { return make_error(ErrorCode::kInvalidArgument, why); };
  if (o.work_dir.empty()) return bad("--work-dir is required");
  if (o.batch_size < 1 || o.batch_size > 100000) return bad("--batch-size must be between 1 and 100000");
  if (o.workers < 1 || o.workers > 64) return bad("--workers must be between 1 and 64");
  if (o.source.redacted() == o.target.redacted() && o.source.base_url == o.target.base_url) {
    return bad("--source and --target are the same store; a migration needs two different ones");
  }
  for (const auto& name : o.collections) {
    if (auto why = invalid_collection_name_reason(name)) {
      return bad("--collections: '" + name + "' is not a valid collection name: " + *why);
    }
  }
  return ok_status();
}

std::string generate_run_id() {
  std::random_device rd;
  return now_compact_stamp() + "-" + fmt::format("{:04x}", rd() & 0xffff);
}

Result<std::vector<std::string>> resolve_collections(VectorStore& source, const std::vector<std::string>& wanted) {
  CM_ASSIGN_OR_RETURN(auto all, source.list_collections());
  std::vector<std::string> names;
  for (const auto& c : all) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  if (wanted.empty()) return names;
  std::string missing;
  for (const auto& w : wanted) {
    if (!std::binary_search(names.begin(), names.end(), w)) missing += (missing.empty() ? "" : ", ") + w;
  }
  if (!missing.empty()) {
    std::string available;
    for (const auto& n : names) available += (available.empty() ? "" : ", ") + n;
    return make_error(ErrorCode::kInvalidArgument, "--collections names collections the source does not have: " +
                                                       missing + " (available: " + available + ")");
  }
  return wanted;
}

Status refuse_existing_targets(VectorStore& target, const std::vector<std::string>& names) {
  std::string taken;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto existing, target.find_collection(name));
    if (existing) taken += (taken.empty() ? "" : ", ") + name;
  }
  if (taken.empty()) return ok_status();
  return make_error(ErrorCode::kAlreadyExists,
                    "the target already has collection(s) " + taken +
                        "; this run only writes collections it creates. Point --target at another "
                        "database or remove them first");
}

struct OpenRun {
  std::unique_ptr<ckpt::CheckpointStore> checkpoint;
  std::unique_ptr<RunManifestStore> manifest;
  bool resumed = false;
};

Result<OpenRun> resume_run(const MigrateOptions& o, const WorkDir& work) {
  OpenRun run;
  run.resumed = true;
  CM_ASSIGN_OR_RETURN(run.checkpoint, ckpt::CheckpointStore::load(work.checkpoint()));
  CM_ASSIGN_OR_RETURN(run.manifest, RunManifestStore::load(work.run_manifest()));
  auto state = run.checkpoint->snapshot();
  if (state.config_hash != ckpt::hash_config(bound_config(o))) {
    return make_error(ErrorCode::kConfigMismatch,
                      "cannot resume run " + state.run_id + ": its configuration differs (" +
                          ckpt::describe_config_difference(state.config, bound_config(o)) +
                          "). Resume with the original flags, or start a new run in a new --work-dir");
  }
  if (!o.run_id.empty() && o.run_id != state.run_id) {
    return make_error(ErrorCode::kConfigMismatch, "--run-id " + o.run_id + " does not match the work dir's run " + state.run_id);
  }
  return run;
}

Result<OpenRun> start_run(const MigrateOptions& o, const WorkDir& work, VectorStore& source, VectorStore& target) {
  // Init phase: every check happens before anything is written, locally or remotely.
  CM_ASSIGN_OR_RETURN(auto source_limits, source.limits());
  CM_ASSIGN_OR_RETURN(auto target_limits, target.limits());
  CM_ASSIGN_OR_RETURN(auto names, resolve_collections(source, o.collections));
  CM_RETURN_IF_ERROR(refuse_existing_targets(target, names));
  const std::size_t batch = std::min({o.batch_size, source_limits.max_batch_size, target_limits.max_batch_size});
  if (batch < o.batch_size) spdlog::info("batch size lowered to {} (server limits)", batch);

  OpenRun run;
  RunManifest manifest;
  manifest.run_id = o.run_id.empty() ? generate_run_id() : o.run_id;
  manifest.tool_version = CHROMA_MIGRATE_VERSION;
  manifest.started_at = now_iso8601();
  manifest.source = source.describe();
  manifest.target = target.describe();
  manifest.config = bound_config(o);
  manifest.source_collections = names;
  CM_RETURN_IF_ERROR(ensure_directory(work.root()));
  CM_RETURN_IF_ERROR(init_logging("chroma-migrate", {work.log_file("chroma-migrate", manifest.run_id), o.verbose, o.quiet}));
  CM_ASSIGN_OR_RETURN(run.manifest, RunManifestStore::create(work.run_manifest(), manifest));
  ckpt::Checkpoint initial;
  initial.run_id = manifest.run_id;
  initial.config = bound_config(o);
  initial.phase = ckpt::Phase::kExport;
  initial.progress(kStageInit, "run").finished = true;
  initial.progress(kStageInit, "run").details = {{"batch_size", batch}, {"target_max_batch", target_limits.max_batch_size}};
  CM_ASSIGN_OR_RETURN(run.checkpoint, ckpt::CheckpointStore::create(work.checkpoint(), std::move(initial)));
  return run;
}

Status write_summary(const WorkDir& work, const MigrationSummary& s) {
  nlohmann::json json = {{"run_id", s.run_id},         {"resumed", s.resumed},
                         {"collections", s.collections}, {"records", s.records},
                         {"records_sent", s.records_sent}, {"seconds", s.seconds},
                         {"records_per_second", s.records_per_second}, {"retries", s.retries},
                         {"phase_seconds", s.phase_seconds}, {"peak_rss_mb", s.peak_rss_mb},
                         {"finished_at", now_iso8601()}};
  return write_file_atomic(work.migration_summary(), json.dump(2) + "\n");
}

}  // namespace

Result<MigrationSummary> run_migration(const MigrateOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  CM_RETURN_IF_ERROR(validate_options(o));
  WorkDir work(o.work_dir);
  auto counters = std::make_shared<StoreCounters>();
  StoreOpenOptions store_options{o.token, o.retry, counters, o.fault_spec};
  CM_ASSIGN_OR_RETURN(auto source, open_store(o.source, StoreRole::kSource, store_options));
  CM_ASSIGN_OR_RETURN(auto target, open_store(o.target, StoreRole::kTarget, store_options));

  const bool has_checkpoint = ckpt::CheckpointStore::exists(work.checkpoint());
  if (has_checkpoint && !o.resume) {
    return make_error(ErrorCode::kConfigMismatch, "work dir " + work.root().string() +
                                                      " already holds a run; pass --resume to continue it or choose a new --work-dir");
  }
  if (!has_checkpoint && o.resume) {
    return make_error(ErrorCode::kInvalidArgument, "nothing to resume: no checkpoint.json in " + work.root().string());
  }
  OpenRun run;
  if (has_checkpoint) {
    CM_ASSIGN_OR_RETURN(run, resume_run(o, work));
    CM_RETURN_IF_ERROR(init_logging("chroma-migrate", {work.log_file("chroma-migrate", run.manifest->get().run_id), o.verbose, o.quiet}));
    spdlog::info("resuming run {} at phase {}", run.manifest->get().run_id, ckpt::phase_name(run.checkpoint->snapshot().phase));
  } else {
    CM_ASSIGN_OR_RETURN(run, start_run(o, work, *source, *target));
  }
  const auto init = run.checkpoint->snapshot().find(kStageInit, "run")->details;
  PhaseContext ctx{o, work, *source, *target, *run.checkpoint, *run.manifest, *counters,
                   init["batch_size"].get<std::size_t>(), init["target_max_batch"].get<std::size_t>()};
  spdlog::info("run {}: {} -> {}, batch {}, {} worker(s), work dir {}", run.manifest->get().run_id,
               source->describe(), target->describe(), ctx.batch_size, o.workers, work.root().string());

  std::uint64_t sent = 0;
  MigrationSummary summary;
  for (auto phase = run.checkpoint->snapshot().phase; phase != ckpt::Phase::kComplete;
       phase = run.checkpoint->snapshot().phase) {
    spdlog::info("phase {}", ckpt::phase_name(phase));
    const auto phase_start = std::chrono::steady_clock::now();
    switch (phase) {
      case ckpt::Phase::kInit:
        CM_RETURN_IF_ERROR(run.checkpoint->update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kExport; }));
        break;
      case ckpt::Phase::kExport: CM_RETURN_IF_ERROR(run_export_phase(ctx)); break;
      case ckpt::Phase::kTransform: CM_RETURN_IF_ERROR(run_transform_phase(ctx)); break;
      case ckpt::Phase::kImport: {
        CM_ASSIGN_OR_RETURN(auto n, run_import_phase(ctx));
        sent += n;
        break;
      }
      case ckpt::Phase::kVerify: CM_RETURN_IF_ERROR(run_verify_phase(ctx)); break;
      case ckpt::Phase::kComplete: break;
    }
    summary.phase_seconds[ckpt::phase_name(phase)] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start).count();
  }

  const auto manifest = run.manifest->get();
  summary.run_id = manifest.run_id;
  summary.resumed = run.resumed;
  summary.collections = manifest.target_collections.size();
  for (const auto& t : manifest.target_collections) summary.records += t.expected_records;
  summary.records_sent = sent;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.records_per_second = summary.seconds > 0 ? static_cast<double>(sent) / summary.seconds : 0;
  summary.retries = counters->retries.load();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  summary.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  summary.work_dir = work.root();
  CM_RETURN_IF_ERROR(write_summary(work, summary));
  return summary;
}

}  // namespace cm::migrate
