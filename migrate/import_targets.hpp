// Getting a target collection ready for the import and writing records into it: shared by the
// import phase and the pipelined import (import_stream.hpp), so both create, adopt, replace and
// merge exactly alike.
#pragma once

#include <span>
#include <string>

#include "common/store/record.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {

Status set_ledger_state(PhaseContext& ctx, const std::string& name, LedgerState state);

// Finds, creates, replaces (after the backup) or adopts the collection `entry` names, as the
// ledger says, and returns it as the target sees it: a staged run's staging collection, else the
// live one. `planned`: the collection as the import snapshot holds it (space, metadata,
// configuration). Run the backup (run_backup) first.
Result<CollectionInfo> prepare_import_target(PhaseContext& ctx, const TargetCollectionEntry& entry,
                                             const CollectionInfo& planned);

// Upserts `records` in chunks of the target's max batch (merge_chunk for a merge).
Status write_to_target(PhaseContext& ctx, const CollectionInfo& target, LedgerAction action,
                       std::span<const Record> records);

}  // namespace cm::migrate
