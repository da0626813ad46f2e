// The rollback plan: from run.json's ledger and cutover journal, plus what the target holds now,
// decide every step before the first change. Per ledger entry:
//
//   in place (no staging name)            path C: archive the run's collection, drop it, and for
//                                         replaced/merged entries recreate it from the backup
//   staged, never cut over                path B: archive and drop the staging collection; the live
//                                         name was never touched
//   staged, cut over (swapping | done)    path A: undo the cutover's renames that landed (found by
//                                         collection id, in reverse order), then archive and drop
//                                         the staging collection; an entry whose retained copy is
//                                         gone falls back to C
//   staged, finalized                     path C on the live name (the retained copies are gone)
//
// Only a collection proven to be the run's (metadata migration_run_id == run id, and for
// cutover steps the journalled collection id) is ever archived and dropped: anything else under a
// name the plan would touch is a conflict (kAlreadyExists) and nothing is changed. A replaced or
// merged collection that the run never wrote (no ledger key; for replaced, the backup's own id) is
// left alone and only checked to still be that collection. Entries still "planned" were never
// created and are skipped.
#pragma once

#include <string>

#include "common/run/run_manifest.hpp"
#include "common/snapshot/snapshot_manifest.hpp"
#include "common/store/vector_store.hpp"
#include "rollback/journal.hpp"

namespace cm::rollback {

// owned_by_run() and the ledger keys come from common/run/run_manifest.hpp (the work-dir contract).

// Whether any entry may need the backup: a replaced/merged entry the run touched, or a staged
// cutover that retained collections. (A recorded backup is verified in any case: it is the
// reference of the final verification.)
bool backup_required(const RunManifest& manifest);

// Reads the target (find_collection only) and returns the journal to execute; trigger and times
// are left for the caller. `backup` is the verified backup's manifest, nullptr when there is none.
Result<Journal> plan_rollback(VectorStore& target, const RunManifest& manifest,
                              const SnapshotManifest* backup);

// The plan (or what remains of it) as console text, with record counts read from the target
// (count only) and the backup: what --dry-run prints.
Result<std::string> describe_plan(const Journal& journal, VectorStore& target,
                                  const SnapshotManifest* backup);

// What the operator must know before the rollback acts: collections of the run to be archived and
// dropped that hold another number of records than the run wrote (expected_records): applications
// wrote to them after the run (typically after a cutover). One line each; "" when none. Their
// records are not lost: the archive keeps them and the report lists them by id.
Result<std::string> describe_writes_after_run(const Journal& journal, VectorStore& target,
                                              const RunManifest& manifest);

}  // namespace cm::rollback
