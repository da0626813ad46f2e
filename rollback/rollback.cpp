#include "rollback/rollback.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/run/interlocks.hpp"
#include "common/run/run_manifest.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "rollback/execute.hpp"
#include "rollback/merge_restore.hpp"
#include "rollback/plan.hpp"
#include "rollback/report.hpp"
#include "rollback/trigger.hpp"
#include "rollback/verify.hpp"

namespace cm::rollback {
namespace {

using Kind = Outcome::Kind;

// Opens the backup (its manifest: enough to plan) when run.json records one or the ledger needs
// one. Nothing has been changed when this fails.
Result<std::unique_ptr<SnapshotStore>> open_backup(const WorkDir& work, const RunManifest& m) {
  const std::string rel = m.backup.value("path", "");
  if (rel.empty()) {
    if (!backup_required(m)) return std::unique_ptr<SnapshotStore>{};
    return make_error(ErrorCode::kCorruption,
                      "run " + m.run_id +
                          " replaced or merged existing collections, but run.json records no "
                          "verified backup to restore them from; nothing was deleted or renamed");
  }
  const auto dir = work.resolve(rel);
  // Direct open, not open_work_snapshot(): the backup is used only through what a snapshot has
  // and the decorators do not wrap: its manifest (the plan), verify() and part reads (restore).
  auto backup = SnapshotStore::open(dir, SnapshotStore::Mode::kRead);
  if (!backup) {
    return make_error(ErrorCode::kCorruption, "the backup " + dir.string() + " cannot be opened (" +
                                                  backup.error().message +
                                                  "); nothing was deleted or renamed");
  }
  return std::move(*backup);
}

// Verifies every file of the backup against its manifest; the message names every problem file.
// `done` says what has happened so far (nothing, or only the non-destructive swap-back).
Status verify_backup(SnapshotStore& backup, const std::string& done) {
  CM_ASSIGN_OR_RETURN(auto report, backup.verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption, "the backup " + backup.dir().string() +
                                                  " failed verification; " + done +
                                                  ". Problem files:" + report.problem_lines());
  }
  spdlog::info("backup verified: {} ({} collection(s), {} records)", backup.dir().string(),
               report.collections_checked, report.records_checked);
  return ok_status();
}

bool renames_pending(const Journal& j) {
  for (const auto& r : j.renames) {
    if (r.state != RenameState::kDone) return true;
  }
  return false;
}

Outcome message(Kind kind, const RunManifest& m, std::string text) {
  return {kind, m.run_id, std::move(text)};
}

}  // namespace

Result<Outcome> run_rollback(const RollbackOptions& o) {
  const std::string invocation_start = now_iso8601();
  const WorkDir work(o.work_dir);
  if (!std::filesystem::exists(work.run_manifest())) {
    return make_error(ErrorCode::kInvalidArgument,
                      o.work_dir.string() +
                          " is not a chroma-migrate work directory (no run.json); pass the "
                          "--work-dir of the run to roll back");
  }
  // Before anything of the run is read: a migrate or another rollback working on it must finish
  // first. A dry run reads only and takes no lock (it writes nothing, not even the lock file).
  std::unique_ptr<WorkDirLock> lock;
  if (!o.dry_run) {
    CM_ASSIGN_OR_RETURN(lock, WorkDirLock::acquire(work.root(), "chroma-rollback"));
  }
  CM_ASSIGN_OR_RETURN(auto manifest, RunManifestStore::load(work.run_manifest()));
  const RunManifest m = manifest->get();
  std::unique_ptr<JournalStore> journal;
  if (std::filesystem::exists(work.rollback_journal())) {
    CM_ASSIGN_OR_RETURN(journal, JournalStore::load(work.rollback_journal()));
    if (journal->get().run_id != m.run_id) {
      return make_error(ErrorCode::kConfigMismatch, work.rollback_journal().string() +
                                                        " belongs to run " + journal->get().run_id +
                                                        ", not to this work dir's run " + m.run_id);
    }
  }
  if (!m.rolled_back_at.empty() || (journal && journal->get().state == JournalState::kComplete)) {
    return message(Kind::kAlreadyRolledBack, m,
                   "run " + m.run_id + " was already rolled back" +
                       (m.rolled_back_at.empty() ? "" : " at " + m.rolled_back_at) +
                       "; report: " + work.rollback_report().string() + "\n");
  }
  Trigger trigger;
  if (!journal) {
    CM_ASSIGN_OR_RETURN(trigger, read_trigger(o, m));
    if (!trigger.acts()) {
      return message(Kind::kNothingToDo, m,
                     "nothing to roll back: " + trigger.report.string() + " says " +
                         trigger.overall_status + " (rollback_triggered is false); run " +
                         m.run_id +
                         " stays as it is. To roll back anyway: --force --reason TEXT\n");
    }
  }
  CM_ASSIGN_OR_RETURN(auto uri, recorded_store_uri(o.target_uri, m.target, "--target"));
  // The source is contacted too (the "source untouched" check): refuse one token for two servers
  // before anything is contacted.
  const auto source_uri = recorded_store_uri(o.source_uri, m.source, "--source");
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens,
                      resolve_store_tokens(o.tokens, source_uri ? &*source_uri : nullptr, &uri));
  if (!o.dry_run) {
    CM_RETURN_IF_ERROR(check_interlocks({.target_env = m.target_kind,
                                         .confirmation = o.confirmation,
                                         .targets_file = {},
                                         .target = uri,
                                         .dry_run = false}));
  }
  CM_RETURN_IF_ERROR(init_logging(
      "chroma-rollback",
      {o.dry_run ? std::filesystem::path() : work.log_file("chroma-rollback", m.run_id), o.verbose,
       o.quiet}));
  StoreOpenOptions store_options{
      .token = tokens.target,
      .retry = o.retry,
      .counters = std::make_shared<StoreCounters>(),
      .fault_spec = o.fault_spec,
      .audit = o.dry_run ? nullptr : AuditLog::open(work.audit_log(), m.run_id),
      .dry_run = o.dry_run,
      .scratch_dir = work.scratch_dir()};
  CM_ASSIGN_OR_RETURN(auto target, open_store(uri, StoreRole::kTarget, store_options));
  CM_ASSIGN_OR_RETURN(auto limits, target->limits());
  const std::size_t max_batch = std::clamp<std::size_t>(limits.max_batch_size, 1, 1000);

  CM_ASSIGN_OR_RETURN(auto backup, open_backup(work, m));
  double verify_seconds = 0;
  std::string verified_at;
  auto verify = [&](const std::string& done) -> Status {
    const auto start = std::chrono::steady_clock::now();
    CM_RETURN_IF_ERROR(verify_backup(*backup, done));
    verify_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    verified_at = now_iso8601();
    return ok_status();
  };
  // The cutover's renames are undone before the backup is verified: they destroy nothing and give
  // the live names back at once (the backup is only needed before the first drop). Without
  // renames to undo, the backup verifies before anything is written, rollback.json included.
  const bool may_swap_first = journal ? renames_pending(journal->get())
                                      : m.cutover.state == CutoverState::kSwapping ||
                                            m.cutover.state == CutoverState::kDone;
  if (backup && (!may_swap_first || o.dry_run)) {
    CM_RETURN_IF_ERROR(verify("nothing was deleted or renamed"));
  }
  const auto backup_manifest = backup ? backup->manifest() : std::nullopt;
  const SnapshotManifest* bm = backup_manifest ? &*backup_manifest : nullptr;

  if (!journal) {
    CM_ASSIGN_OR_RETURN(Journal plan, plan_rollback(*target, m, bm));
    plan.trigger = trigger_to_json(trigger);
    plan.started_at = invocation_start;
    plan.backup_path = backup ? m.backup.value("path", "") : "";
    // Said before anything is changed: writes the target took after the run are archived, not
    // restored.
    CM_ASSIGN_OR_RETURN(std::string later, describe_writes_after_run(plan, *target, m));
    if (!later.empty()) spdlog::warn("written after the run: {}", later);
    if (o.dry_run) {
      CM_ASSIGN_OR_RETURN(std::string text, describe_plan(plan, *target, bm));
      return message(Kind::kDryRun, m,
                     "trigger: " + describe_trigger(trigger) + "\n" + text + later +
                         "dry run: nothing was changed or written\n");
    }
    CM_ASSIGN_OR_RETURN(journal, JournalStore::create(work.rollback_journal(), std::move(plan)));
    spdlog::info("rollback of run {} planned in {}", m.run_id, work.rollback_journal().string());
  } else if (o.dry_run) {
    CM_ASSIGN_OR_RETURN(std::string text, describe_plan(journal->get(), *target, bm));
    return message(Kind::kDryRun, m,
                   "an interrupted rollback is in progress; what remains:\n" + text +
                       "dry run: nothing was changed or written\n");
  } else {
    spdlog::info("continuing the interrupted rollback of run {} started at {}", m.run_id,
                 journal->get().started_at);
  }
  CM_RETURN_IF_ERROR(journal->update([](Journal& j) { ++j.invocations; }));

  // The import snapshot (what the run wrote): merged collections are restored in place against
  // it, and archived collections are compared with it. Direct open: manifest and part reads only.
  std::unique_ptr<SnapshotStore> import;
  if (!m.import_snapshot.empty()) {
    auto opened = SnapshotStore::open(work.resolve(m.import_snapshot), SnapshotStore::Mode::kRead);
    if (opened) {
      import = std::move(*opened);
    } else if (!journal->get().merges.empty()) {
      return make_error(ErrorCode::kCorruption,
                        "the import snapshot " + work.resolve(m.import_snapshot).string() +
                            " cannot be opened (" + opened.error().message +
                            "); it is needed to restore merged collections in place");
    }
  }
  ExecContext ctx{o, work, *target, backup.get(), *journal, max_batch, import.get()};
  CM_RETURN_IF_ERROR(undo_renames(ctx));
  if (backup && verified_at.empty()) {
    CM_RETURN_IF_ERROR(verify(
        "the live names were given back their pre-run collections (a rename, nothing deleted); "
        "nothing was deleted. Fix or restore the backup, then run chroma-rollback again"));
  }
  if (backup) {
    CM_RETURN_IF_ERROR(journal->update([&](Journal& j) {
      j.actions.push_back({.action = ActionKind::kVerifyBackup,
                           .collection = j.backup_path,
                           .detail = "before the first drop",
                           .at = verified_at,
                           .seconds = verify_seconds});
    }));
  }
  CM_RETURN_IF_ERROR(archive_and_drop(ctx));
  CM_RETURN_IF_ERROR(restore_from_backup(ctx));
  CM_RETURN_IF_ERROR(restore_merged_in_place(ctx));

  spdlog::info("verifying the rollback");
  CM_ASSIGN_OR_RETURN(Verification v, verify_rollback(journal->get(), *target, backup.get(),
                                                      import.get(), o.workers, max_batch));
  v.source = check_source(o, m, work);
  CM_RETURN_IF_ERROR(record_verification(*journal, v));
  const auto report = build_report(journal->get(), v, m.target, work);
  CM_RETURN_IF_ERROR(write_report(work, report));
  if (v.ok()) {
    CM_RETURN_IF_ERROR(
        manifest->update([](RunManifest& next) { next.rolled_back_at = now_iso8601(); }));
    CM_RETURN_IF_ERROR(journal->update([](Journal& j) { j.state = JournalState::kComplete; }));
  }
  return message(v.ok() ? Kind::kRolledBack : Kind::kVerifyFailed, m,
                 console_summary(report, work));
}

}  // namespace cm::rollback
