#include "rollback/backup_restore.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/base/clock.hpp"
#include "common/base/logging.hpp"
#include "common/persist/persist_archive.hpp"
#include "common/report/html_page.hpp"
#include "common/run/collection_copy.hpp"
#include "common/run/store_factory.hpp"
#include "common/run/work_dir.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "rollback/execute.hpp"
#include "rollback/html_page.hpp"
#include "rollback/journal.hpp"
#include "rollback/report.hpp"
#include "rollback/verify.hpp"

namespace cm::rollback {
namespace {

namespace fs = std::filesystem;
using Kind = Outcome::Kind;

constexpr const char* kAccepted =
    "--backup-path accepts a snapshot directory (holding manifest.json), a Chroma persist "
    "directory (holding chroma.sqlite3), or a .tar.gz, .tgz or .tar of a persist directory";

std::unexpected<Error> not_a_backup(const std::string& text, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, "--backup-path " + text + ": " + why + ". " +
                                                     kAccepted +
                                                     "; nothing was written or contacted");
}

// Where the backup's records are read from for the restore: the snapshot itself, or the work dir's
// export of a persist backup. The description binds the export to the backup it came from.
std::string export_description(const BackupSource& b) {
  return "chroma-rollback backup restore: export of " + b.uri.redacted();
}

// A persist backup (directory or tarball), exported into snapshots/backup, sealed. A sealed export
// of the same backup left by an earlier invocation is reused; a partial one is resumed (the copy
// of an unfinished collection starts over).
Status export_persist_backup(const RollbackOptions& o, const BackupSource& b, const WorkDir& work,
                             std::size_t max_batch) {
  const fs::path dir = work.snapshot(WorkDir::kBackupSnapshot);
  if (fs::exists(snapshot::manifest_path(dir))) {
    CM_ASSIGN_OR_RETURN(auto sealed, SnapshotStore::open(dir, SnapshotStore::Mode::kRead));
    if (sealed->manifest()->description == export_description(b)) return ok_status();
    return make_error(ErrorCode::kConfigMismatch,
                      dir.string() + " holds the export of another backup (" +
                          sealed->manifest()->description + "); use a new --work-dir");
  }
  StoreOpenOptions options;
  options.retry = o.retry;
  options.fault_spec = o.fault_spec;
  options.scratch_dir = work.scratch_dir();  // the private copy of chroma.sqlite3, the unpacking
  CM_ASSIGN_OR_RETURN(SourceStore source, open_source_store(b.uri, options));
  CM_ASSIGN_OR_RETURN(auto snapshot, open_work_snapshot(dir, SnapshotStore::Mode::kWrite, options));
  snapshot.snapshot->set_description(export_description(b));
  CM_ASSIGN_OR_RETURN(auto collections, source.store->list_collections());
  for (const auto& c : collections) {
    spdlog::info("exporting {} from the backup into {}", c.name, dir.string());
    auto copied = copy_collection_to_snapshot(*source.store, c, snapshot,
                                              {.batch_size = max_batch,
                                               .workers = o.workers,
                                               .scan_file = work.backup_scan_file(c.name),
                                               .progress_label = "export " + c.name});
    if (!copied) return std::unexpected(std::move(copied).error());
  }
  return snapshot.store->flush();
}

// The backup as one sealed snapshot, verified against its manifest (digests of every part).
Result<std::unique_ptr<SnapshotStore>> open_verified_backup(const RollbackOptions& o,
                                                            const BackupSource& b,
                                                            const WorkDir& work,
                                                            std::size_t max_batch) {
  fs::path dir = b.path;
  if (b.kind != BackupKind::kSnapshot) {
    CM_RETURN_IF_ERROR(export_persist_backup(o, b, work, max_batch));
    dir = work.snapshot(WorkDir::kBackupSnapshot);
  }
  // Direct open: manifest, verify() and part reads, as the run-based rollback reads its backup.
  auto backup = SnapshotStore::open(dir, SnapshotStore::Mode::kRead);
  if (!backup) {
    return make_error(ErrorCode::kCorruption, "the backup " + dir.string() + " cannot be opened (" +
                                                  backup.error().message +
                                                  "); nothing was changed");
  }
  CM_ASSIGN_OR_RETURN(auto report, (*backup)->verify());
  if (!report.ok()) {
    return make_error(ErrorCode::kCorruption, "the backup " + dir.string() +
                                                  " failed verification; nothing was changed. "
                                                  "Problem files:" +
                                                  report.problem_lines());
  }
  spdlog::info("backup verified: {} ({} collection(s), {} records)", dir.string(),
               report.collections_checked, report.records_checked);
  return std::move(*backup);
}

// Every collection of the backup is restored and must equal it; a same-named target collection is
// archived first and dropped only once proven (id and content) to be what the archive holds.
Result<Journal> plan_backup_restore(VectorStore& target, const SnapshotManifest& backup,
                                    const BackupSource& b, const std::string& id,
                                    const std::string& backup_dir) {
  Journal j;
  j.run_id = id;
  j.started_at = now_iso8601();
  j.backup_source = b.uri.redacted();
  j.backup_path = backup_dir;
  j.trigger = {{"backup",
                {{"kind", enum_name(b.kind)},
                 {"path", b.uri.redacted()},
                 {"tenant", b.uri.tenant},
                 {"database", b.uri.database}}}};
  j.paths = {RollbackPath::kC};
  for (const auto& c : backup.collections) {
    const std::string& name = c.info.name;
    CM_ASSIGN_OR_RETURN(auto found, target.find_collection(name));
    if (found) {
      ArchiveItem a;
      a.name = name;
      a.collection_id = found->id;
      a.live_name = name;
      a.pre_existing = true;
      j.archive.push_back(std::move(a));
    }
    RestoreItem r;
    r.name = name;
    r.parts = c.parts.size();
    r.records = c.record_count;
    j.restores.push_back(std::move(r));
    LiveName l;
    l.name = name;
    l.action = found ? LedgerAction::kReplaced : LedgerAction::kCreated;
    l.path = RollbackPath::kC;
    l.note = found ? "existed on the target (collection " + found->id +
                         "): archived, then replaced by the backup's"
                   : "created from the backup";
    j.live.push_back(std::move(l));
    j.equal_to_backup.push_back(name);
  }
  return j;
}

fs::path json_beside(const fs::path& md) {
  fs::path json = md;
  json.replace_extension(".json");
  return json == md ? fs::path(md.string() + ".json") : json;
}

}  // namespace

Result<BackupSource> classify_backup(const std::string& text) {
  const auto q = text.find('?');
  const std::string path_text = text.substr(0, q);
  BackupSource b;
  b.path = path_text;
  std::error_code ec;
  const auto status = fs::status(b.path, ec);
  if (path_text.empty() || !fs::exists(status))
    return not_a_backup(text, "no such file or directory");
  if (fs::is_directory(status)) {
    if (fs::exists(snapshot::manifest_path(b.path), ec)) {
      if (q != std::string::npos) {
        return not_a_backup(
            text, "a snapshot directory takes no ?tenant=&database= (that is for persist backups)");
      }
      b.kind = BackupKind::kSnapshot;
      b.uri.kind = StoreUri::Kind::kSnapshot;
      b.uri.snapshot_dir = b.path;
      return b;
    }
    if (!fs::exists(b.path / "chroma.sqlite3", ec)) {
      return not_a_backup(text, "a directory holding neither manifest.json nor chroma.sqlite3");
    }
    b.kind = BackupKind::kPersistDir;
  } else if (fs::is_regular_file(status) && is_persist_archive(b.path)) {
    b.kind = BackupKind::kPersistArchive;
  } else {
    return not_a_backup(text, fs::is_regular_file(status)
                                  ? "a file whose name does not end in .tar.gz, .tgz or .tar"
                                  : "neither a directory nor a regular file");
  }
  auto uri = parse_store_uri("persist:" + text);
  if (!uri) return not_a_backup(text, uri.error().message);
  b.uri = std::move(*uri);
  return b;
}

fs::path default_restore_work_dir(const fs::path& cwd) {
  std::string stamp = now_iso8601();  // 2026-11-28T18:30:00.123Z
  stamp = stamp.substr(0, stamp.find('.'));
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
  if (!stamp.ends_with('Z')) stamp += 'Z';
  return cwd / ("chroma-rollback-" + stamp);
}

Result<Outcome> run_backup_restore(const RollbackOptions& o) {
  // Everything that can be refused from the command line alone is refused before the work dir is
  // created or anything contacted.
  CM_ASSIGN_OR_RETURN(const BackupSource b, classify_backup(o.backup_path));
  CM_ASSIGN_OR_RETURN(const StoreUri uri, parse_store_uri(o.restore_url));
  if (uri.kind == StoreUri::Kind::kPersist) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--restore-url " + uri.redacted() +
                          ": a persist directory is read-only here; restore into a Chroma server "
                          "(http://...) or a snapshot directory");
  }
  CM_ASSIGN_OR_RETURN(const StoreTokens tokens, resolve_store_tokens(o.tokens, nullptr, &uri));
  const WorkDir work(o.work_dir);
  if (fs::exists(work.run_manifest())) {
    return make_error(
        ErrorCode::kConfigMismatch,
        o.work_dir.string() +
            " holds a chroma-migrate run (run.json); a backup restore needs a work dir "
            "of its own (omit --work-dir for a new one)");
  }
  CM_RETURN_IF_ERROR(ensure_directory(work.root()));
  if (auto owner_only = restrict_to_owner(work.root()); !owner_only)
    return std::unexpected(std::move(owner_only).error());
  CM_ASSIGN_OR_RETURN(auto lock, WorkDirLock::acquire(work.root(), "chroma-rollback"));
  std::unique_ptr<JournalStore> journal;
  if (fs::exists(work.rollback_journal())) {
    CM_ASSIGN_OR_RETURN(journal, JournalStore::load(work.rollback_journal()));
    if (journal->get().backup_source != b.uri.redacted()) {
      return make_error(ErrorCode::kConfigMismatch,
                        work.rollback_journal().string() + " restores " +
                            (journal->get().backup_source.empty() ? "a run, not a backup"
                                                                  : journal->get().backup_source) +
                            ", not " + b.uri.redacted() + "; use a new --work-dir");
    }
    if (journal->get().state == JournalState::kComplete) {
      return Outcome{Kind::kAlreadyRolledBack, journal->get().run_id,
                     "the backup " + b.uri.redacted() + " was already restored; report: " +
                         work.rollback_report_md().string() + "\n"};
    }
  }
  const std::string id =
      journal ? journal->get().run_id : "restore-" + work.root().filename().string();
  CM_RETURN_IF_ERROR(
      init_logging("chroma-rollback", {work.log_file("chroma-rollback", id), o.verbose, o.quiet}));
  spdlog::info("work directory: {}", work.root().string());

  StoreOpenOptions store_options;
  store_options.token = tokens.target;
  store_options.retry = o.retry;
  store_options.counters = std::make_shared<StoreCounters>();
  store_options.fault_spec = o.fault_spec;
  store_options.audit = AuditLog::open(work.audit_log(), id);
  store_options.scratch_dir = work.scratch_dir();
  CM_ASSIGN_OR_RETURN(auto target, open_store(uri, StoreRole::kTarget, store_options));
  CM_ASSIGN_OR_RETURN(auto limits, target->limits());
  const std::size_t max_batch = std::clamp<std::size_t>(limits.max_batch_size, 1, 1000);

  CM_ASSIGN_OR_RETURN(auto backup, open_verified_backup(o, b, work, max_batch));
  if (!journal) {
    CM_ASSIGN_OR_RETURN(Journal plan, plan_backup_restore(*target, *backup->manifest(), b, id,
                                                          backup->dir().string()));
    CM_ASSIGN_OR_RETURN(journal, JournalStore::create(work.rollback_journal(), std::move(plan)));
    spdlog::info("restore of {} into {} planned in {}", b.uri.redacted(), uri.redacted(),
                 work.rollback_journal().string());
  } else {
    spdlog::info("continuing the interrupted restore started at {}", journal->get().started_at);
  }
  CM_RETURN_IF_ERROR(journal->update([](Journal& j) { ++j.invocations; }));

  ExecContext ctx{o, work, *target, backup.get(), *journal, max_batch, nullptr};
  CM_RETURN_IF_ERROR(archive_and_drop(ctx));
  CM_RETURN_IF_ERROR(restore_from_backup(ctx));

  spdlog::info("verifying the restore against the backup");
  CM_ASSIGN_OR_RETURN(Verification v, verify_rollback(journal->get(), *target, backup.get(),
                                                      nullptr, o.workers, max_batch));
  v.source.detail = "no source: a backup restore";
  CM_RETURN_IF_ERROR(record_verification(*journal, v));
  auto report = build_report(journal->get(), v, uri.redacted(), work);
  report["status"] = v.ok() ? "RESTORED" : "VERIFY_FAILED";
  report["backup"] = journal->get().trigger["backup"];
  report["backup"]["snapshot"] = backup->dir().string();
  CM_RETURN_IF_ERROR(write_report(work, report));
  if (!o.report_output.empty()) {
    CM_RETURN_IF_ERROR(write_file_atomic(o.report_output, report_markdown(report)));
    // The page beside that JSON too (a warning naming it when it fails, as in the work dir).
    report::write_page_beside(json_beside(o.report_output), render_rollback_page(report));
    CM_RETURN_IF_ERROR(write_file_atomic(json_beside(o.report_output), report.dump(2) + "\n"));
  }
  if (v.ok()) {
    CM_RETURN_IF_ERROR(journal->update([](Journal& j) { j.state = JournalState::kComplete; }));
  }
  std::string text = console_summary(report, work);
  if (!o.report_output.empty()) {
    text += "  report-output:      " + o.report_output.string() + ", " +
            json_beside(o.report_output).string() + ", " +
            report::html_path_for(json_beside(o.report_output)).string() + "\n";
  }
  return Outcome{v.ok() ? Kind::kRolledBack : Kind::kVerifyFailed, id, std::move(text)};
}

}  // namespace cm::rollback
