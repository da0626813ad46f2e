// Rolling back a merge in place, by record. A merge wrote into a live collection that others may
// keep writing to, so rollback keeps the collection (its id: clients holding it keep working) and
// undoes only what the run did. Every record is judged by three versions: the backup's (before
// the run), the import snapshot's (what the run wrote) and the target's (now):
//
//   in backup | in import | target now                        verdict
//   yes       | yes       | = import, = upsert(backup, import),  restore: upsert the backup version
//             |           |   or missing
//   yes       | yes       | = backup                          done
//   yes       | yes       | anything else                     kept_changed: rewritten after the run
//   no        | yes       | = import                          delete_added: the run added it
//   no        | yes       | missing                           done
//   no        | yes       | anything else                     kept_changed
//   yes       | no        | = backup                          done (the run never wrote it)
//   yes       | no        | other, or missing                 others_changed: left as others left
//   it no        | no        | (present)                         foreign: written by others, kept
//
// "=" is the same document, uri and metadata exactly, and the embedding under
// common/store/embedding_compare.hpp. upsert(backup, import) is what Chroma's upsert of the
// imported version makes of the backed-up one (metadata keys merged, a null document or uri left
// as it was): migrate's merge upserts first and removes stale keys (or rewrites the record) only
// afterwards, so a crash between the two leaves exactly that. A missing overlapping id is put
// back: that rewrite deletes a record and adds it again.
//
// Chroma's upsert merges metadata keys and keeps a document or uri the new version lacks: a record
// put back whose content still differs from the backup version is deleted and upserted again with
// the backup version, right after the upsert that already put the backed-up values back.
// Its id is in the journal (MergeItem::restoring) before the first upsert is sent, so a crash
// anywhere in between re-runs both steps on that id.
#pragma once

#include <string>

#include "common/snapshot/snapshot_store.hpp"
#include "common/store/record.hpp"
#include "common/store/same_content.hpp"
#include "rollback/execute.hpp"
#include "rollback/verify.hpp"

namespace cm::rollback {

enum class MergeVerdict { kDone, kRestore, kDeleteAdded, kKeptChanged, kOthersChanged };

// What Chroma's upsert of `incoming` makes of an `existing` record with the same id: the incoming
// embedding, metadata keys merged (incoming values win), document and uri replaced unless the
// incoming ones are null.
Record upserted_over(const Record& existing, const Record& incoming);

// The table above. nullptr = no such record. `forced`: the id was being put back when an earlier
// invocation stopped (journalled), so it is put back again whatever the target holds.
MergeVerdict classify_merged_record(const std::string& space, const Record* backup,
                                    const Record* imported, const Record* target,
                                    bool forced = false);

// Step 4 of execute.hpp: every journalled merge, resumable. Needs the backup and the import
// snapshot (ctx.import); kCorruption when either lacks the collection.
Status restore_merged_in_place(ExecContext& ctx);

// The final check of one merged collection: the same collection (id), the backup's collection
// metadata and hnsw configuration, and no record left that the run added or overwrote (every
// record is the backup's, or kept as someone else's). Read-only.
Result<CollectionCheck> verify_merged(const MergeItem& item, VectorStore& target,
                                      SnapshotStore* backup, SnapshotStore* import,
                                      std::size_t max_batch);

// For the archive: records of `archived` (collection `name` of the sealed archive) that the run
// did not write as they are, compared with the import snapshot's collection `live_name`.
Result<IdList> records_others_wrote(SnapshotStore& archive, const std::string& name,
                                    SnapshotStore& import, const std::string& live_name,
                                    std::size_t max_batch);

}  // namespace cm::rollback
