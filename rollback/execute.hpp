// The steps of a planned rollback, each resumable from rollback.json (rollback/journal.hpp). The
// caller runs them in this order, which keeps the invariant "nothing is deleted before it is
// archived" and gives live names back as early as possible:
//   1. undo_renames       the cutover's renames, reversed: no data moves, nothing is destroyed
//   2. archive_and_drop   copy every collection of the run into snapshots/archive, seal and verify
//                         the archive, and only then drop them (each proven the run's again)
//   3. restore_from_backup  recreate replaced collections from the verified backup
//   4. restore_merged_in_place  merged collections, in place, by record (merge_restore.hpp)
#pragma once

#include <cstddef>

#include "common/run/work_dir.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/vector_store.hpp"
#include "rollback/journal.hpp"
#include "rollback/rollback_options.hpp"

namespace cm::rollback {

struct ExecContext {
  const RollbackOptions& options;
  WorkDir work;
  VectorStore& target;
  SnapshotStore* backup;  // opened kRead and verified; nullptr when the run has none
  JournalStore& journal;
  std::size_t max_batch;  // the target's upsert/get limit
  // The run's import snapshot (sealed, opened kRead): what the run wrote. nullptr when the run has
  // none (it stopped before the export was sealed).
  SnapshotStore* import = nullptr;
};

// Each rename is found by collection id (rename_collection_idempotent), so one that landed before
// a crash is recognised rather than repeated.
Status undo_renames(ExecContext& ctx);
// kCorruption when the archive does not verify (nothing is dropped then); kAlreadyExists when a
// collection to drop is no longer the run's (for a pre-existing collection, ArchiveItem::
// pre_existing: no longer the archived id, or no longer equal to its archive by content). Once the
// archive is sealed and before the drops, each archived collection is compared with the import
// snapshot: the records the run did not write as they are (others wrote them after the run) are
// journalled (ArchiveItem::others_wrote).
Status archive_and_drop(ExecContext& ctx);
// Parts already upserted (journalled) are skipped; "creating" is journalled before each create.
Status restore_from_backup(ExecContext& ctx);

}  // namespace cm::rollback
