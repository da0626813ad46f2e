#include "migrate/migration.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>

#include <spdlog/spdlog.h>

#include "checkpoints/checkpoint.hpp"
#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/report/html_page.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/store_factory.hpp"
#include "migrate/lost_vectors.hpp"
#include "migrate/phase_context.hpp"
#include "migrate/run_setup.hpp"
#include "migrate/summary_page.hpp"

namespace cm::migrate {
namespace {
// Per target collection: where its records come from (its route) and how many it should hold.
nlohmann::json target_collections_json(const RunManifest& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : m.target_collections) {
    out.push_back({{"name", t.name},
                   {"action", enum_name(t.action)},
                   {"state", enum_name(t.state)},
                   {"source_collections", t.source_collections},
                   {"expected_records", t.expected_records},
                   {"staging_name", t.staging_name}});
  }
  return out;
}

// The JSON is the record; the HTML page beside it (migrate/summary_page.hpp) is rendered from it
// first and is only warned about when it fails (it never fails the run).
Status write_summary(const WorkDir& work, MigrationSummary& s, const RunManifest& manifest,
                     const ImportRate& import_rate) {
  nlohmann::json json = {{"run_id", s.run_id},
                         {"resumed", s.resumed},
                         {"collections", s.collections},
                         {"records", s.records},
                         {"records_sent", s.records_sent},
                         {"records_sent_during_export", s.records_sent_during_export},
                         {"seconds", s.seconds},
                         {"records_per_second", s.records_per_second},
                         {"retries", s.retries},
                         {"phase_seconds", s.phase_seconds},
                         {"peak_rss_mb", s.peak_rss_mb},
                         {"dry_run", s.dry_run},
                         {"unrecoverable_at_source", s.unrecoverable_at_source},
                         {"import_rate", import_rate.to_json()},
                         {"target_collections", target_collections_json(manifest)},
                         {"syncs", manifest.syncs},
                         {"shard", s.shard.empty() ? nlohmann::json() : nlohmann::json(s.shard)},
                         {"finished_at", now_iso8601()}};
  s.html_page = report::write_page_beside(work.migration_summary(), render_summary_page(json));
  return write_file_atomic(work.migration_summary(), json.dump(2) + "\n");
}

// A resumed run reads its persist source again: what it lost must still be allowed (or a dry
// run), and the list is refreshed from what the directory holds now.
Status recheck_lost_vectors(const MigrateOptions& o, const WorkDir& work, PersistStore* persist,
                            RunManifestStore& manifest) {
  CM_ASSIGN_OR_RETURN(const LostVectors lost,
                      find_lost_vectors(persist, manifest.get().source_collections));
  if (lost.total() && !o.allow_missing_vectors && !o.dry_run) {
    return refuse_lost_vectors(lost, manifest.get().source, true);
  }
  CM_ASSIGN_OR_RETURN(auto recorded, record_lost_vectors(lost, work));
  return manifest.update([&](RunManifest& m) { m.unrecoverable_at_source = recorded; });
}

}  // namespace

Result<std::optional<std::filesystem::path>> refresh_summary_syncs(const WorkDir& work,
                                                                   const nlohmann::json& syncs) {
  if (!std::filesystem::exists(work.migration_summary())) return std::nullopt;
  CM_ASSIGN_OR_RETURN(const auto text, read_file(work.migration_summary()));
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) {
    return make_error(ErrorCode::kCorruption,
                      work.migration_summary().string() + " is not a JSON object");
  }
  json["syncs"] = syncs;
  auto page = report::write_page_beside(work.migration_summary(), render_summary_page(json));
  CM_RETURN_IF_ERROR(write_file_atomic(work.migration_summary(), json.dump(2) + "\n"));
  return page;
}

Result<MigrationSummary> run_migration(const MigrateOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  CM_RETURN_IF_ERROR(validate_options(o));
  // Which token goes to which server, decided (or refused) before anything is written or contacted.
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens,
                      resolve_store_tokens(o.tokens, &o.source, &o.target));
  WorkDir work(o.work_dir);
  CM_ASSIGN_OR_RETURN(const Inputs in, load_inputs(o));
  // Interlocks before anything connects for writing.
  CM_ASSIGN_OR_RETURN(auto decision, check_interlocks({.target_env = o.target_env,
                                                       .confirmation = o.confirmation,
                                                       .targets_file = o.targets_file,
                                                       .target = o.target,
                                                       .dry_run = o.dry_run}));

  // One invocation per run at a time; a new run's directory is locked as soon as it exists.
  std::unique_ptr<WorkDirLock> lock;
  if (std::filesystem::is_directory(work.root())) {
    CM_ASSIGN_OR_RETURN(lock, WorkDirLock::acquire(work.root(), "chroma-migrate"));
  }
  const bool has_checkpoint = ckpt::CheckpointStore::exists(work.checkpoint());
  if (has_checkpoint && !o.resume) {
    return make_error(
        ErrorCode::kConfigMismatch,
        "work dir " + work.root().string() +
            " already holds a run; pass --resume to continue it or choose a new --work-dir");
  }
  if (!has_checkpoint && o.resume) {
    return make_error(ErrorCode::kInvalidArgument,
                      "nothing to resume: no checkpoint.json in " + work.root().string());
  }
  OpenRun run;
  std::string run_id = o.run_id.empty() ? generate_run_id() : o.run_id;
  if (has_checkpoint) {
    CM_ASSIGN_OR_RETURN(run, resume_run(o, work, in));
    run.lock = std::move(lock);
    run_id = run.manifest->get().run_id;
    CM_RETURN_IF_ERROR(init_logging("chroma-migrate",
                                    {work.log_file("chroma-migrate", run_id), o.verbose, o.quiet}));
    spdlog::info("resuming run {} at phase {}", run_id,
                 ckpt::phase_name(run.checkpoint->snapshot().phase));
  }
  auto counters = std::make_shared<StoreCounters>();
  auto audit = AuditLog::open(work.audit_log(), run_id);
  StoreOpenOptions store_options{.token = tokens.source,
                                 .retry = o.retry,
                                 .counters = counters,
                                 .fault_spec = o.fault_spec,
                                 .audit = audit,
                                 .dry_run = o.dry_run,
                                 .scratch_dir = work.scratch_dir()};
  store_options.max_records_per_second = o.source_rate;
  // A persist source skips the records whose vector is lost: lost_vectors refuses them below (or
  // in start_run) unless --allow-missing-vectors, before the export reads anything.
  store_options.skip_unrecoverable = true;
  CM_ASSIGN_OR_RETURN(SourceStore opened, open_source_store(o.source, store_options));
  std::unique_ptr<VectorStore> source = std::move(opened.store);
  store_options.skip_unrecoverable = false;
  store_options.max_records_per_second = 0;  // the target is not paced
  store_options.token = tokens.target;
  CM_ASSIGN_OR_RETURN(auto target, open_store(o.target, StoreRole::kTarget, store_options));
  spdlog::info("{} target ({}{}): {}  <-  source {}",
               decision.target_kind == TargetKind::kWorking ? "WORKING" : "TEST",
               o.dry_run ? "dry run, no writes" : "writes allowed",
               decision.listed_as_working ? ", listed as working" : "", target->describe(),
               source->describe());
  if (!has_checkpoint) {
    CM_ASSIGN_OR_RETURN(run, start_run(o, in, run_id, decision.target_kind, work, *source, *target,
                                       std::move(lock), opened.persist));
  } else if (opened.persist) {
    CM_RETURN_IF_ERROR(recheck_lost_vectors(o, work, opened.persist, *run.manifest));
  }
  CM_RETURN_IF_ERROR(run.manifest->update([&](RunManifest& m) {
    m.dry_run = o.dry_run;
    m.target_kind = decision.target_kind;
  }));
  const auto init = run.checkpoint->snapshot().find(kStageInit, "run")->details;
  PhaseContext ctx{o,
                   work,
                   *source,
                   *target,
                   *run.checkpoint,
                   *run.manifest,
                   *counters,
                   init["batch_size"].get<std::size_t>(),
                   init["target_max_batch"].get<std::size_t>(),
                   in.mapping ? &*in.mapping : nullptr,
                   in.contract ? &*in.contract : nullptr,
                   audit,
                   opened.persist};
  ImportRate import_rate;
  ctx.import_rate = &import_rate;
  spdlog::info("run {}: {} -> {}, batch {}, {} worker(s), work dir {}", run.manifest->get().run_id,
               source->describe(), target->describe(), ctx.batch_size, o.workers,
               work.root().string());

  std::uint64_t sent = 0;
  MigrationSummary summary;
  for (auto phase = run.checkpoint->snapshot().phase; phase != ckpt::Phase::kComplete;
       phase = run.checkpoint->snapshot().phase) {
    if (o.dry_run && phase >= ckpt::Phase::kImport) {
      const double export_seconds = summary.phase_seconds.contains("export")
                                        ? summary.phase_seconds["export"]
                                        : run.checkpoint->snapshot()
                                              .find(kStageInit, "run")
                                              ->details.value("export_seconds", 0.0);
      CM_RETURN_IF_ERROR(write_plan(ctx, export_seconds));
      summary.dry_run = true;
      break;
    }
    spdlog::info("phase {}", ckpt::phase_name(phase));
    const auto phase_start = std::chrono::steady_clock::now();
    switch (phase) {
      case ckpt::Phase::kInit:
        CM_RETURN_IF_ERROR(
            run.checkpoint->update([](ckpt::Checkpoint& c) { c.phase = ckpt::Phase::kExport; }));
        break;
      case ckpt::Phase::kExport: {
        CM_ASSIGN_OR_RETURN(auto n, run_export_phase(ctx));
        sent += n;
        summary.records_sent_during_export += n;
        break;
      }
      case ckpt::Phase::kTransform:
        CM_RETURN_IF_ERROR(run_transform_phase(ctx));
        break;
      case ckpt::Phase::kImport: {
        CM_ASSIGN_OR_RETURN(auto n, run_import_phase(ctx));
        sent += n;
        break;
      }
      case ckpt::Phase::kVerify:
        CM_RETURN_IF_ERROR(run_verify_phase(ctx));
        break;
      case ckpt::Phase::kComplete:
        break;
    }
    summary.phase_seconds[ckpt::phase_name(phase)] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start).count();
    if (phase == ckpt::Phase::kExport) {
      CM_RETURN_IF_ERROR(run.checkpoint->update([&](ckpt::Checkpoint& c) {
        c.progress(kStageInit, "run").details["export_seconds"] = summary.phase_seconds["export"];
      }));
    }
  }

  const auto manifest = run.manifest->get();
  summary.run_id = manifest.run_id;
  summary.resumed = run.resumed;
  summary.collections = manifest.target_collections.size();
  for (const auto& t : manifest.target_collections) summary.records += t.expected_records;
  summary.records_sent = sent;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.records_per_second =
      summary.seconds > 0 ? static_cast<double>(sent) / summary.seconds : 0;
  summary.retries = counters->retries.load();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  summary.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  summary.work_dir = work.root();
  summary.unrecoverable_at_source = manifest.unrecoverable_at_source;
  if (manifest.shard) summary.shard = manifest.shard->to_string();
  CM_RETURN_IF_ERROR(write_summary(work, summary, manifest, import_rate));
  return summary;
}

}  // namespace cm::migrate
