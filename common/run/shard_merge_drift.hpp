// The shards' accepted contract drift as one: part of merge_shard_work_dirs (shard_merge.hpp).
// Each shard of a run started with --allow-contract-drift records in its own accepted_drift.json
// the findings and the dangling references its preflight accepted (migrate/contract_checks.cpp;
// a shard's list may name references that resolve to another shard's records: harmless, the merged
// citation test consults the list only for references that dangle over the union). The merged work
// dir gets their union, so the merged validation honours what any shard accepted.
#pragma once

#include <filesystem>
#include <vector>

#include "common/base/error.hpp"
#include "common/run/work_dir.hpp"

namespace cm {

// Writes `merged`'s accepted_drift.json (atomically) as the union of the shards' files:
// dangling_references deduplicated by (collection, key, id, value), findings by their content,
// with the run id, the contract versions and the shards that accepted any. Writes nothing when no
// shard accepted drift. Errors: kCorruption naming a shard's file that is not an accepted-drift
// record (no dangling_references array), kIo.
Status merge_accepted_drift(const std::vector<std::filesystem::path>& shard_work_dirs,
                            const WorkDir& merged);

}  // namespace cm
