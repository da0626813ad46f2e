// rollback.json: chroma-rollback's plan and journal. The plan is decided in full (and written)
// before the first target call that changes anything; every step is then marked in the file
// atomically right after the target acknowledged it, and renames and creates are marked *before*
// they are sent. A re-run after a crash (kill -9 included) loads the file and continues with the
// first step that is not done; it never re-plans, so it cannot change its mind half-way.
//
// Step states (enums below, their strings in the file):
//   renames   planned -> done                (undo of a cutover rename: the collection is found
//                                            by id)
//   archive   pending -> archived -> dropped (nothing is dropped before the archive is sealed and
//                                            verified: archive_state "sealed")
//   restores  pending -> creating -> created -> restored  ("creating" is written before the
//                                            create so a crash in between is recognised on re-run)
//   merges    pending -> records_restored -> scanned -> restored (a merged collection put back
//                                            in place, by record, rollback/merge_restore.hpp:
//                                            import-snapshot parts are journalled as they finish;
//                                            the ids of a batch being put back are journalled
//                                            *before* it is sent, so a crash between the upsert and
//                                            the removal of stale metadata keys re-runs them)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/batch_set.hpp"
#include "common/base/enum_names.hpp"
#include "common/base/error.hpp"
#include "common/base/json_document_store.hpp"
#include "common/run/run_manifest.hpp"

namespace cm::rollback {

enum class JournalState { kInProgress, kComplete };
enum class ArchiveState { kPending, kArchived, kDropped };
enum class ArchiveSealState { kNone, kPending, kSealed };  // "" nothing to archive
enum class RestoreState { kPending, kCreating, kCreated, kRestored };
enum class MergeRestoreState { kPending, kRecordsRestored, kScanned, kRestored };
// How a live name is rolled back: A swap back | B staged, never cut over | C in place |
// untouched | skipped.
enum class RollbackPath { kA, kB, kC, kUntouched, kSkipped };
// What a journalled action did (the report's "actions").
enum class ActionKind {
  kVerifyBackup,
  kRename,
  kArchive,
  kSealArchive,
  kDrop,
  kCreate,
  kRestore,
  kRestoreInPlace,
  kVerify
};

}  // namespace cm::rollback

namespace cm {
template <>
struct EnumNames<rollback::JournalState> {
  static constexpr std::pair<rollback::JournalState, const char*> kNames[] = {
      {rollback::JournalState::kInProgress, "in_progress"},
      {rollback::JournalState::kComplete, "complete"}};
};
template <>
struct EnumNames<rollback::ArchiveState> {
  static constexpr std::pair<rollback::ArchiveState, const char*> kNames[] = {
      {rollback::ArchiveState::kPending, "pending"},
      {rollback::ArchiveState::kArchived, "archived"},
      {rollback::ArchiveState::kDropped, "dropped"}};
};
template <>
struct EnumNames<rollback::ArchiveSealState> {
  static constexpr std::pair<rollback::ArchiveSealState, const char*> kNames[] = {
      {rollback::ArchiveSealState::kNone, ""},
      {rollback::ArchiveSealState::kPending, "pending"},
      {rollback::ArchiveSealState::kSealed, "sealed"}};
};
template <>
struct EnumNames<rollback::RestoreState> {
  static constexpr std::pair<rollback::RestoreState, const char*> kNames[] = {
      {rollback::RestoreState::kPending, "pending"},
      {rollback::RestoreState::kCreating, "creating"},
      {rollback::RestoreState::kCreated, "created"},
      {rollback::RestoreState::kRestored, "restored"}};
};
template <>
struct EnumNames<rollback::MergeRestoreState> {
  static constexpr std::pair<rollback::MergeRestoreState, const char*> kNames[] = {
      {rollback::MergeRestoreState::kPending, "pending"},
      {rollback::MergeRestoreState::kRecordsRestored, "records_restored"},
      {rollback::MergeRestoreState::kScanned, "scanned"},
      {rollback::MergeRestoreState::kRestored, "restored"}};
};
template <>
struct EnumNames<rollback::RollbackPath> {
  static constexpr std::pair<rollback::RollbackPath, const char*> kNames[] = {
      {rollback::RollbackPath::kA, "A"},
      {rollback::RollbackPath::kB, "B"},
      {rollback::RollbackPath::kC, "C"},
      {rollback::RollbackPath::kUntouched, "untouched"},
      {rollback::RollbackPath::kSkipped, "skipped"}};
};
template <>
struct EnumNames<rollback::ActionKind> {
  static constexpr std::pair<rollback::ActionKind, const char*> kNames[] = {
      {rollback::ActionKind::kVerifyBackup, "verify_backup"},
      {rollback::ActionKind::kRename, "rename"},
      {rollback::ActionKind::kArchive, "archive"},
      {rollback::ActionKind::kSealArchive, "seal_archive"},
      {rollback::ActionKind::kDrop, "drop"},
      {rollback::ActionKind::kCreate, "create"},
      {rollback::ActionKind::kRestore, "restore"},
      {rollback::ActionKind::kRestoreInPlace, "restore_in_place"},
      {rollback::ActionKind::kVerify, "verify"}};
};
}  // namespace cm

namespace cm::rollback {

CM_JSON_ENUM(JournalState)
CM_JSON_ENUM(ArchiveState)
CM_JSON_ENUM(ArchiveSealState)
CM_JSON_ENUM(RestoreState)
CM_JSON_ENUM(MergeRestoreState)
CM_JSON_ENUM(RollbackPath)
CM_JSON_ENUM(ActionKind)

// One rename of the cutover, undone: `from` is where the cutover put the collection, `to` where it
// was before.
struct UndoRename {
  std::string collection_id, from, to;
  std::string live_name;         // the live name this rename gives back (or frees), for downtime
  bool restores_live = false;    // once done, the live name serves its pre-run state again
  bool journalled_done = false;  // the cutover had recorded it done (else found landed by id)
  RenameState state = RenameState::kPlanned;
  std::string done_at;
};

// A set of record ids for the report: how many, and the first kMaxListedIds of them.
struct IdList {
  static constexpr std::size_t kMaxListedIds = 100;
  std::uint64_t count = 0;
  std::vector<std::string> ids;  // the first kMaxListedIds
  void add(const std::string& id) {
    ++count;
    if (ids.size() < kMaxListedIds) ids.push_back(id);
  }
};

// A collection of the run that is archived, then dropped, under its name at that moment.
struct ArchiveItem {
  std::string name, collection_id, live_name;
  bool restores_live = false;  // a created collection: dropping it gives the live name back
  ArchiveState state = ArchiveState::kPending;
  std::uint64_t records = 0;
  std::string archived_at, dropped_at;
  // Once the archive is sealed, before the drop: archived records the run did not write as they
  // are (ids not in the import snapshot, or content other than the import snapshot's), i.e. what
  // others wrote after the run. They are dropped from the live name and kept only in the archive.
  bool others_checked = false;
  std::string others_note;  // why not checked, when it could not be
  IdList others_wrote;
  // A collection that was on the target before this invocation and is not a run's (a backup
  // restore replaces it, rollback/backup_restore.hpp): it carries no ledger key, so it is dropped
  // only once proven by id AND content to be what the sealed archive holds.
  bool pre_existing = false;
};

// A merged collection put back in place, by record (rollback/merge_restore.hpp); the collection
// (and its id) is kept.
struct MergeItem {
  std::string name, collection_id;
  MergeRestoreState state = MergeRestoreState::kPending;
  std::size_t parts = 0;      // parts of the import snapshot's collection
  ckpt::BatchSet parts_done;  // ... whose records are dealt with
  // Ids whose backed-up version is being put back: written before the upsert, cleared when the
  // part is done. A re-run puts these back whatever it finds (a crash may have left the upsert's
  // merged metadata, with keys the backup lacks).
  std::vector<std::string> restoring;
  std::uint64_t backup_records = 0;
  std::uint64_t deleted_added = 0;  // ids the run added, still as it wrote them: deleted
  std::uint64_t restored = 0;       // ids the run overwrote: their backed-up version upserted
  std::uint64_t rewritten = 0;      // ... of which deleted and upserted again for stale keys
  IdList kept_changed;              // ids the run wrote, changed by others since: kept as they are
  IdList others_changed;            // ids only in the backup (never written by the run), changed or
                                    // deleted by others since the backup: left as they are
  IdList foreign;                   // ids in neither the backup nor the import snapshot: kept
  std::string started_at, finished_at;
};

// A live collection recreated from the backup snapshot.
struct RestoreItem {
  std::string name;
  RestoreState state = RestoreState::kPending;
  std::string collection_id;  // once created
  std::size_t parts = 0;
  ckpt::BatchSet parts_done;
  std::uint64_t records = 0;        // records in the backup
  std::uint64_t records_sent = 0;   // summed over invocations (a crash repeats some parts)
  std::uint64_t timed_records = 0;  // records upserted by invocations that finished the restore
  double upsert_seconds = 0;        // ... and the time they took: the restore rate's figures
  std::string started_at, finished_at;
};

// One live name the run affected, and its downtime as far as rollback can tell.
struct LiveName {
  std::string name;
  LedgerAction action = LedgerAction::kCreated;  // the ledger's
  RollbackPath path = RollbackPath::kSkipped;
  std::string note;          // why (e.g. "never created", "pre-run collection, never written")
  std::string disrupted_at;  // when the run changed what it serves ("" never)
  std::string restored_at;   // when it served its pre-run state again
};

// One action sent or checked, with its timing, for the report.
struct Action {
  ActionKind action = ActionKind::kVerify;
  std::string collection, detail, at;
  double seconds = 0;
};

struct Journal {
  static constexpr int kFormatVersion = 1;
  std::string run_id;
  JournalState state = JournalState::kInProgress;
  std::string started_at, finished_at;
  nlohmann::json trigger = nlohmann::json::object();
  std::vector<RollbackPath> paths;  // A, B, C (in the order they apply)
  std::string backup_path;          // relative to the work dir; "" when no backup is used
  // A backup restore (--backup-path): the backup it restores, as given (redacted). A re-run in the
  // same work dir must name the same backup. "" for the rollback of a run.
  std::string backup_source;
  std::vector<UndoRename> renames;
  ArchiveSealState archive_state = ArchiveSealState::kNone;
  std::string archive_verified_at;
  std::vector<ArchiveItem> archive;
  std::vector<RestoreItem> restores;
  std::vector<MergeItem> merges;  // merged collections restored in place
  std::vector<LiveName> live;
  std::vector<std::string> equal_to_backup;  // live names that must equal the backup at the end
  // Pre-run collections the run never wrote (staged and never cut over, or in place but never
  // reached): they must still be there, the same collection (id) as in the backup. Their content
  // is not compared: live traffic may legitimately have written to them since the backup.
  std::vector<std::string> untouched;
  std::vector<std::string> must_be_gone;  // names of the run's collections that must not exist
  std::vector<Action> actions;
  std::uint32_t invocations = 0;

  LiveName* find_live(const std::string& name);
};

nlohmann::json journal_to_json(const Journal& journal);
Result<Journal> journal_from_json(const nlohmann::json& json);

// Owns rollback.json; update() applies a change and writes the file atomically before returning.
// Thread-safe (restore workers checkpoint parts through it).
using JournalStore = JsonDocumentStore<Journal, journal_to_json, journal_from_json>;

}  // namespace cm::rollback
