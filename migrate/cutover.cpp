#include "migrate/cutover.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "checkpoints/checkpoint.hpp"
#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/collection_copy.hpp"
#include "common/run/collection_identity.hpp"
#include "common/run/collection_rename.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "migrate/finished_run.hpp"

namespace cm::migrate {
namespace {

using Clock = std::chrono::steady_clock;

struct StagedRun {
  WorkDir work;
  std::unique_ptr<WorkDirLock> lock;
  std::unique_ptr<RunManifestStore> manifest;
  std::unique_ptr<VectorStore> target;
};

// Everything --cutover and --finalize check before they connect: a complete, staged, not rolled
// back run; then the interlocks, then the target store (audited like the migration's).
Result<StagedRun> open_staged_run(const CutoverOptions& o, const char* flag) {
  CM_ASSIGN_OR_RETURN(FinishedRun finished, open_finished_run(o.work_dir, flag));
  StagedRun run{.work = finished.work,
                .lock = std::move(finished.lock),
                .manifest = std::move(finished.manifest),
                .target = nullptr};
  const auto m = run.manifest->get();
  if (!m.staged) {
    return refuse_for_run(
        flag, m.run_id,
        "it was not staged (--stage): its collections were written in place, there is nothing "
        "to swap");
  }
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-migrate", {run.work.log_file("chroma-migrate", m.run_id), o.verbose, o.quiet}));
  CM_ASSIGN_OR_RETURN(auto uri, recorded_store_uri(o.target_uri, m.target, "--target"));
  const TargetKind env = o.target_env.value_or(m.target_kind);
  CM_RETURN_IF_ERROR(check_interlocks({.target_env = env,
                                       .confirmation = o.confirmation,
                                       .targets_file = o.targets_file,
                                       .target = uri,
                                       .dry_run = false}));
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens, resolve_store_tokens(o.tokens, nullptr, &uri));
  StoreOpenOptions store_options{.token = tokens.target,
                                 .retry = o.retry,
                                 .counters = std::make_shared<StoreCounters>(),
                                 .fault_spec = o.fault_spec,
                                 .audit = AuditLog::open(run.work.audit_log(), m.run_id),
                                 .dry_run = false,
                                 .scratch_dir = run.work.scratch_dir()};
  CM_ASSIGN_OR_RETURN(run.target, open_store(uri, StoreRole::kTarget, store_options));
  return run;
}

// The verdict gate: only this run's PASSED report (or WARNING with --accept-warning) lets a
// cutover start. Returns the report's status.
Result<ReportStatus> check_report(const CutoverOptions& o, const WorkDir& work,
                                  const RunManifest& m, const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) {
    return make_error(ErrorCode::kConfigMismatch,
                      "no validation report at " + path.string() +
                          ": run chroma-validate --work-dir " + work.root().string() +
                          " first; the cutover follows a PASSED verdict only");
  }
  auto report = nlohmann::json::parse(*text, nullptr, false);
  if (!report.is_object() || !report.contains("overall_status")) {
    return make_error(ErrorCode::kCorruption, path.string() + " is not a validation report");
  }
  if (report.value("run_id", "") != m.run_id) {
    return make_error(ErrorCode::kConfigMismatch, path.string() + " validates run " +
                                                      report.value("run_id", "?") +
                                                      ", not this work dir's run " + m.run_id);
  }
  const std::string overall = report.value("overall_status", "");
  const auto status = enum_from_name<ReportStatus>(overall).value_or(ReportStatus::kNone);
  if (status == ReportStatus::kPassed || (status == ReportStatus::kWarning && o.accept_warning))
    return status;
  if (status == ReportStatus::kWarning) {
    return make_error(ErrorCode::kRefused,
                      "the validation verdict is WARNING: review " +
                          std::filesystem::path(path).replace_extension(".md").string() +
                          ", then --cutover --accept-warning to swap anyway");
  }
  return make_error(ErrorCode::kRefused,
                    "the validation verdict is " + overall + " (" +
                        report.value("rollback_reason", "") +
                        "): the staged collections are not swapped in. chroma-rollback "
                        "--work-dir " +
                        work.root().string() + " removes them");
}

// The rename journal, decided in full before the first rename: per target collection, the live
// collection (if any) to its retained name, then the staged collection to the live name.
Result<CutoverRecord> plan_swap(VectorStore& target, const RunManifest& m) {
  CutoverRecord plan;
  for (const auto& entry : m.target_collections) {
    CM_ASSIGN_OR_RETURN(auto staged, target.find_collection(entry.staging_name));
    if (!staged) {
      return make_error(ErrorCode::kVerifyFailed, "staging collection '" + entry.staging_name +
                                                      "' is missing from the target; nothing "
                                                      "was renamed");
    }
    CM_ASSIGN_OR_RETURN(std::uint64_t count, target.count(*staged));
    if (count != entry.expected_records) {
      return make_error(ErrorCode::kVerifyFailed,
                        "staging collection '" + entry.staging_name + "' holds " +
                            std::to_string(count) + " records, the run imported " +
                            std::to_string(entry.expected_records) +
                            " (changed since validation?); nothing was renamed");
    }
    CM_ASSIGN_OR_RETURN(auto live, target.find_collection(entry.name));
    if (live) {
      if (entry.action == LedgerAction::kCreated) {
        return make_error(ErrorCode::kAlreadyExists,
                          "live collection '" + entry.name +
                              "' appeared after the run planned to create it and has no backup; "
                              "rename or remove it, then --cutover again. Nothing was renamed");
      }
      // Live traffic writes to the live collection of a staged run, so only its identity is
      // checked here: it must be the collection the run backed up, not one created since.
      if (!entry.backed_up_id.empty() && live->id != entry.backed_up_id) {
        return make_error(ErrorCode::kAlreadyExists,
                          "live collection '" + entry.name +
                              "' is not the one the run backed up "
                              "(id " +
                              live->id + ", backed up " + entry.backed_up_id +
                              "); it was re-created since. Nothing was renamed");
      }
      const std::string retained = retained_name_for(entry.name, m.run_id);
      plan.steps.push_back({.collection_id = live->id,
                            .from = entry.name,
                            .to = retained,
                            .state = RenameState::kPlanned,
                            .done_at = ""});
      plan.retained.push_back(retained);
    }
    plan.steps.push_back({.collection_id = staged->id,
                          .from = entry.staging_name,
                          .to = entry.name,
                          .state = RenameState::kPlanned,
                          .done_at = ""});
  }
  return plan;
}

// Copies a retained collection that took writes after the backup into
// snapshots/<kFinalizeArchive>-<name>, seals and verifies it. Returns what it archived.
Result<CollectionContent> archive_retained(const CutoverOptions& o, StagedRun& run,
                                           const CollectionInfo& retained,
                                           const std::string& live_name) {
  const std::string snapshot_name = std::string("finalize-archive-") + live_name;
  const auto dir = run.work.snapshot(snapshot_name);
  StoreOpenOptions options;
  options.retry = o.retry;
  options.fault_spec = o.fault_spec;
  CM_ASSIGN_OR_RETURN(auto archive, open_work_snapshot(dir, SnapshotStore::Mode::kWrite, options));
  archive.snapshot->set_description("writes retained collection " + retained.name +
                                    " took after the backup, archived by --finalize");
  CM_ASSIGN_OR_RETURN(
      [[maybe_unused]] std::uint64_t copied,
      copy_collection_to_snapshot(*run.target, retained, archive,
                                  {.batch_size = 1000,
                                   .workers = 2,
                                   .scan_file = run.work.root() / (snapshot_name + ".scan"),
                                   .progress_label = "archive " + retained.name}));
  CM_RETURN_IF_ERROR(archive.store->flush());
  CM_ASSIGN_OR_RETURN(auto report, archive.snapshot->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption,
                      "the archive of " + retained.name +
                          " failed verification; nothing was dropped:" + report.problem_lines());
  }
  const auto manifest = archive.snapshot->manifest();
  const ManifestCollection* saved = manifest ? manifest->find(retained.name) : nullptr;
  if (!saved) return make_error(ErrorCode::kInternal, "the archive lacks " + retained.name);
  spdlog::warn(
      "retained collection {} took writes after the backup: archived to {} before the drop",
      retained.name, dir.string());
  return CollectionContent{.count = saved->record_count, .digest = saved->content_digest};
}

// Drops one retained collection, pinned to the id the cutover journalled (collection_identity.hpp:
// renamed by id to "<live>.quarantine-<run id>", a name derived from run.json, checked, deleted).
// Writes it took after the backup (clients holding its id keep writing to it) are never dropped:
// when its content differs from the backup, it is first archived into the work dir (a sealed,
// verified snapshot) and the drop then checks it still holds exactly what was archived.
Status drop_retained(const CutoverOptions& o, StagedRun& run, const RunManifest& m,
                     const RenameStep& step) {
  const std::string quarantine = quarantine_name_for(step.from, m.run_id);
  CM_ASSIGN_OR_RETURN(auto found, run.target->find_collection(step.to));
  if (!found) {
    CM_ASSIGN_OR_RETURN(found, run.target->find_collection(quarantine));
  }
  if (!found) return ok_status();  // dropped by an earlier, interrupted --finalize
  if (!step.collection_id.empty() && !found->id.empty() && found->id != step.collection_id) {
    return make_error(ErrorCode::kAlreadyExists,
                      "'" + found->name + "' is not the collection the cutover retained (id " +
                          found->id + ", expected " + step.collection_id +
                          "); refusing to drop it");
  }
  StoreOpenOptions backup_options;
  backup_options.retry = o.retry;
  CM_ASSIGN_OR_RETURN(auto backup, open_work_snapshot(run.work.resolve(m.backup.value("path", "")),
                                                      SnapshotStore::Mode::kRead, backup_options));
  const auto manifest = backup.snapshot->manifest();
  const ManifestCollection* saved = manifest ? manifest->find(step.from) : nullptr;
  if (!saved) {
    return make_error(ErrorCode::kCorruption, "the backup lacks '" + step.from +
                                                  "'; retained collection " + step.to +
                                                  " was not dropped");
  }
  CollectionContent expected{.count = saved->record_count, .digest = saved->content_digest};
  CM_ASSIGN_OR_RETURN(auto content, read_collection_content(*run.target, *found, 1000));
  if (content != expected) {
    spdlog::warn("retained collection {} differs from the backup: {}", found->name,
                 describe_content_difference(content, expected));
    CM_ASSIGN_OR_RETURN(CollectionContent archived, archive_retained(o, run, *found, step.from));
    expected = std::move(archived);
  }
  CM_RETURN_IF_ERROR(delete_collection_pinned(*run.target, {.collection_id = step.collection_id,
                                                            .name = step.to,
                                                            .quarantine = quarantine,
                                                            .expected = expected,
                                                            .batch_size = 1000}));
  spdlog::info("dropped retained collection {}", step.to);
  return ok_status();
}

}  // namespace

Result<CutoverSummary> run_cutover(const CutoverOptions& o) {
  const auto start = Clock::now();
  CM_ASSIGN_OR_RETURN(StagedRun run, open_staged_run(o, "--cutover"));
  auto m = run.manifest->get();
  CutoverSummary summary;
  summary.run_id = m.run_id;
  if (m.cutover.state == CutoverState::kDone || m.cutover.state == CutoverState::kFinalized) {
    summary.already_done = true;
    for (const auto& e : m.target_collections) summary.live.push_back(e.name);
    summary.retained = m.cutover.retained;
    return summary;
  }
  if (m.cutover.state == CutoverState::kNotStarted) {
    const auto report_path = o.report.empty() ? run.work.validation_report() : o.report;
    CM_ASSIGN_OR_RETURN(ReportStatus status, check_report(o, run.work, m, report_path));
    CM_ASSIGN_OR_RETURN(CutoverRecord plan, plan_swap(*run.target, m));
    plan.state = CutoverState::kSwapping;
    plan.report = report_path.string();
    plan.report_status = status;
    plan.started_at = now_iso8601();
    CM_RETURN_IF_ERROR(run.manifest->update([&](RunManifest& next) { next.cutover = plan; }));
    spdlog::info("cutover of run {} ({} verdict): {} rename(s) journalled in run.json", m.run_id,
                 enum_name(status), plan.steps.size());
  } else {
    spdlog::info("completing the interrupted cutover of run {}", m.run_id);
  }
  m = run.manifest->get();
  std::map<std::string, Clock::time_point> gap_opened;  // live name -> when it went missing
  for (std::size_t i = 0; i < m.cutover.steps.size(); ++i) {
    const RenameStep step = m.cutover.steps[i];
    if (step.state == RenameState::kDone) continue;
    CM_ASSIGN_OR_RETURN(auto outcome, rename_collection_idempotent(*run.target, step.collection_id,
                                                                   step.from, step.to));
    if (outcome == RenameOutcome::kRenamed) ++summary.renames;
    const bool takes_live_name_away =
        m.find_target(step.from) != nullptr && m.find_target(step.from)->name == step.from;
    const std::string live = takes_live_name_away ? step.from : step.to;
    if (takes_live_name_away) {
      gap_opened[live] = Clock::now();
    } else if (auto it = gap_opened.find(live); it != gap_opened.end()) {
      summary.longest_gap_seconds =
          std::max(summary.longest_gap_seconds,
                   std::chrono::duration<double>(Clock::now() - it->second).count());
    }
    spdlog::info("renamed {} -> {}{}", step.from, step.to,
                 outcome == RenameOutcome::kAlreadyDone ? " (had landed before a crash)" : "");
    CM_RETURN_IF_ERROR(run.manifest->update([&](RunManifest& next) {
      next.cutover.steps[i].state = RenameState::kDone;
      next.cutover.steps[i].done_at = now_iso8601();
      auto* entry = next.find_target(live);
      if (entry && entry->disrupted_at.empty()) entry->disrupted_at = now_iso8601();
    }));
  }
  CM_RETURN_IF_ERROR(run.manifest->update([&](RunManifest& next) {
    next.cutover.state = CutoverState::kDone;
    next.cutover.finished_at = now_iso8601();
  }));
  for (const auto& e : m.target_collections) summary.live.push_back(e.name);
  summary.retained = m.cutover.retained;
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

Result<CutoverSummary> run_finalize(const CutoverOptions& o) {
  const auto start = Clock::now();
  CM_ASSIGN_OR_RETURN(StagedRun run, open_staged_run(o, "--finalize"));
  const auto m = run.manifest->get();
  CutoverSummary summary;
  summary.run_id = m.run_id;
  if (m.cutover.state == CutoverState::kFinalized) {
    summary.already_done = true;
    summary.retained = m.cutover.retained;
    return summary;
  }
  if (m.cutover.state != CutoverState::kDone) {
    return make_error(ErrorCode::kConfigMismatch, "--finalize refused for run " + m.run_id +
                                                      ": the cutover is not done (state '" +
                                                      enum_name(m.cutover.state) +
                                                      "'); run --cutover first");
  }
  // Once the retained collections are dropped, the backup is the only copy of the pre-run data:
  // it must verify before anything is dropped.
  if (!m.cutover.retained.empty()) {
    if (!m.backup.contains("verified_at")) {
      return make_error(ErrorCode::kCorruption,
                        "run " + m.run_id +
                            " has no verified backup of the retained collections; nothing was "
                            "dropped (they are the only copy of the pre-run data)");
    }
    StoreOpenOptions backup_options;
    backup_options.retry = o.retry;
    backup_options.fault_spec = o.fault_spec;
    CM_ASSIGN_OR_RETURN(auto backup,
                        open_work_snapshot(run.work.resolve(m.backup.value("path", "")),
                                           SnapshotStore::Mode::kRead, backup_options));
    CM_ASSIGN_OR_RETURN(auto report, backup.snapshot->verify());
    if (!report.ok()) {
      return make_error(ErrorCode::kCorruption,
                        "the backup failed verification, so the retained collections stay (they "
                        "are the only good copy of the pre-run data); nothing was dropped:" +
                            report.problem_lines());
    }
  }
  for (const auto& step : m.cutover.steps) {
    const bool retain_step = std::find(m.cutover.retained.begin(), m.cutover.retained.end(),
                                       step.to) != m.cutover.retained.end();
    if (!retain_step) continue;
    CM_RETURN_IF_ERROR(drop_retained(o, run, m, step));
    summary.retained.push_back(step.to);
    ++summary.renames;
  }
  CM_RETURN_IF_ERROR(run.manifest->update([&](RunManifest& next) {
    next.cutover.state = CutoverState::kFinalized;
    next.cutover.finalized_at = now_iso8601();
  }));
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace cm::migrate
