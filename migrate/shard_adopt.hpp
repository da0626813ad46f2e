// Sharded runs (common/run/shard.hpp): the shards of a run start at the same time and each
// creates the target collections the run needs when it reaches its import. The first create wins;
// every other shard finds the collection under the same name carrying the same run id (the shards
// share it: --run-id is required) and adopts it. Adopting is not trusting a name: the collection
// must carry this run's ledger keys (run id, mapping hash, contract version: the same
// configuration), and its server id is recorded in this shard's ledger the first time, so a
// collection deleted and re-created under the name later (another id) is refused, not written.
#pragma once

#include "common/run/run_manifest.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {

// For an unsharded run: returns `existing` unchanged (resume of its own create). For a shard:
// checks `existing` (owned by this run id) against the ledger entry named `ledger_name` and the
// shard's configuration, records its id (and `adopted` when this shard did not record creating
// it) in run.json, and returns it. Errors: kAlreadyExists (exit 9) when the id differs from the
// recorded one; kConfigMismatch (exit 3) when another shard made it with another mapping or
// contract (the shards were not started with the same command).
Result<CollectionInfo> adopt_run_collection(PhaseContext& ctx, const std::string& ledger_name,
                                            CollectionInfo existing, bool created_here);

}  // namespace cm::migrate
