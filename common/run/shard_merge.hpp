// chroma-validate (and chroma-rollback) --work-dir D0 --work-dir D1 ...: the shards of a sharded
// run (common/run/shard.hpp) as one run. The shards' snapshots are merged into one work dir,
// WorkDir::shards_merged() of shard 0, laid out like a run's (run.json, checkpoint.json, inputs/,
// snapshots/), so the eight tests run unchanged on the union: counts, distribution, duplicates and
// citations over every shard's records, semantic equivalence on whole collections; and
// chroma-rollback acts on its ledger (every target collection of the run, once) with its own
// journal there. It is derived data: chroma-validate rebuilds it on every invocation (a shard that
// resumed after an earlier validation is seen as it is now), unless a rollback started in it (its
// journal is kept).
//
// Refused (could not run, exit 3) unless the dirs are exactly the shards of one run, every shard's
// migration is complete (not a dry run) and they agree on everything but the shard index. For
// chroma-rollback only (ShardMerge::kForRollback) a shard that has not finished (killed, never
// resumed) is merged too: its ledger (state, collection id) counts, and its snapshots when it
// sealed them; when it did not (export and import overlap, so its phase does not prove it wrote
// nothing), that snapshot is not merged at all (an incomplete union would take the run's records
// for others'), and the rollback does without it as for an unfinished unsharded run. Such a
// merged work dir holds the marker built_for_rollback; the next chroma-validate (which needs every
// shard finished) or rollback rebuilds it, unless a rollback journals in it.
// Disk: one more copy of the import snapshot (and of the export, when a mapping made them
// differ) in D0. accepted_drift.json: the union of the shards' (shard_merge_drift.hpp). Not
// merged: unrecoverable_at_source.
#pragma once

#include <filesystem>
#include <vector>

#include "common/base/error.hpp"

namespace cm {

// Which shards may be merged: finished ones only (validation, cutover), or also unfinished ones
// (rollback: a crashed shard is what a rollback is for).
enum class ShardMerge { kFinishedOnly, kForRollback };

// Builds <the work dir of shard 0>/shards-merged and returns its path; once a cutover or a
// rollback started there, returns it as it is (its journal is what they continue from).
Result<std::filesystem::path> merge_shard_work_dirs(
    const std::vector<std::filesystem::path>& work_dirs,
    ShardMerge which = ShardMerge::kFinishedOnly);

// The merged work dir of the shards when chroma-validate built it already (from finished shards),
// else builds it with `which` (chroma-rollback: kForRollback; --cutover/--finalize: the default).
Result<std::filesystem::path> merged_shard_work_dir(
    const std::vector<std::filesystem::path>& work_dirs,
    ShardMerge which = ShardMerge::kFinishedOnly);

// Marks every shard's run.json rolled back at `at` (after chroma-rollback verified the rollback of
// the merged work dir), so chroma-migrate refuses to resume any of them.
Status mark_shards_rolled_back(const std::vector<std::filesystem::path>& work_dirs,
                               const std::string& at);

}  // namespace cm
