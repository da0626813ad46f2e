// chroma-rollback --backup-path PATH --restore-url URI: restore any backup into a target, without a
// chroma-migrate run (what the operators' seed tool chromadb_rollback.py did).
//
// PATH is one of three kinds, told apart by the path itself before anything is written or
// contacted (classify_backup):
//   - a sealed snapshot directory (manifest.json: what `snapshot:DIR` opens), used in place;
//   - a Chroma persist directory (chroma.sqlite3: what `persist:DIR` opens, read-only, offline);
//   - a .tar.gz / .tgz / .tar of one (what `persist:X.tar.gz` opens).
// A persist backup may carry `?tenant=T&database=D` as a URI does (default_tenant /
// default_database); it is exported first into the work dir's snapshots/backup, sealed and
// verified, so all three kinds are then restored from one verified snapshot.
//
// Every collection of the backup is restored into the target URI's database by the same steps as a
// run's rollback (rollback/execute.hpp), journalled in <work dir>/rollback.json:
//   1. a target collection of the same name is archived into snapshots/archive (sealed, verified)
//      and dropped only once proven to be what the archive holds, by id and by content
//      (ArchiveItem::pre_existing); nothing is deleted before that;
//   2. the collection is created from the backup (name, metadata, hnsw) and every part upserted
//      (restore_from_backup: idempotent, resumable by part);
//   3. each collection is verified record by record against the backup (verify_rollback), and the
//      rollback report is written in the work dir and at --report-output (Markdown; JSON beside).
// A re-run in the same work dir continues from rollback.json (it must name the same backup).
#pragma once

#include <filesystem>
#include <string>

#include "common/base/enum_names.hpp"
#include "common/base/error.hpp"
#include "common/store/uri.hpp"
#include "rollback/rollback.hpp"
#include "rollback/rollback_options.hpp"

namespace cm::rollback {

enum class BackupKind { kSnapshot, kPersistDir, kPersistArchive };

}  // namespace cm::rollback

template <>
struct cm::EnumNames<cm::rollback::BackupKind> {
  static constexpr std::pair<cm::rollback::BackupKind, const char*> kNames[] = {
      {cm::rollback::BackupKind::kSnapshot, "snapshot"},
      {cm::rollback::BackupKind::kPersistDir, "persist directory"},
      {cm::rollback::BackupKind::kPersistArchive, "persist archive"}};
};

namespace cm::rollback {

struct BackupSource {
  BackupKind kind = BackupKind::kSnapshot;
  std::filesystem::path path;  // as given, without the query
  StoreUri uri;                // snapshot:PATH or persist:PATH?tenant=&database=
};

// Looks at the path only (stat and file names; nothing is opened or written). kInvalidArgument
// (exit 2), naming the problem and the three accepted kinds, for anything else: a missing path, a
// directory holding neither manifest.json nor chroma.sqlite3, a file without an archive suffix, a
// query on a snapshot.
Result<BackupSource> classify_backup(const std::string& text);

// ./chroma-rollback-<UTC timestamp, e.g. 20261128T183000Z> under `cwd`.
std::filesystem::path default_restore_work_dir(const std::filesystem::path& cwd);

// Needs options.backup_path and options.restore_url; uses work_dir (set by the caller, see
// default_restore_work_dir), report_output, workers, tokens (target only), fault_spec, retry,
// verbose, quiet. kVerifyFailed is an Outcome (reports written), as for run_rollback.
Result<Outcome> run_backup_restore(const RollbackOptions& options);

}  // namespace cm::rollback
