// Sharded runs (issue 15): one migration split over N chroma-migrate processes that a scheduler
// the operator already has starts (Kubernetes Indexed Job, Slurm array, GNU parallel). Each shard
// is an ordinary run in its own work directory; what makes them one migration is spelled here:
//   - the split: a record belongs to shard xxh64(source collection, '\0', id) mod N. Stable across
//     processes, machines and versions (xxHash's output is specified), so a resumed shard finds
//     exactly the ids it had, and the shards partition every collection without talking;
//   - the shard spec "I/N" (0 <= I < N), from --shard I/N or from --shards N plus the scheduler's
//     index variable (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID);
//   - a complete set of shards (shard_set.hpp): N work dirs, one per index, of one run id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.hpp"

namespace cm {

struct ShardSpec {
  std::uint32_t index = 0;  // I: 0 <= index < count
  std::uint32_t count = 1;  // N >= 1

  // "I/N", the form of --shard, run.json's "shard" and the summaries.
  std::string to_string() const;
  // Whether the record `id` of source collection `collection` is this shard's.
  bool owns(std::string_view collection, std::string_view id) const;
  bool operator==(const ShardSpec&) const = default;
};

// The shard a record belongs to among `count` (>= 1): xxh64 of collection '\0' id, seed 0, mod
// count. The '\0' keeps ("ab","c") and ("a","bc") apart.
std::uint32_t shard_of(std::string_view collection, std::string_view id, std::uint32_t count);

// "I/N" -> ShardSpec; kInvalidArgument (exit 2) naming the fix for anything else (N < 1, I >= N,
// not two decimal numbers).
Result<ShardSpec> parse_shard_spec(std::string_view text);

// The scheduler variables that may carry a shard's index with --shards N.
struct ShardEnvironment {
  std::optional<std::string> job_completion_index;  // JOB_COMPLETION_INDEX (Kubernetes)
  std::optional<std::string> slurm_array_task_id;   // SLURM_ARRAY_TASK_ID (Slurm)
};
ShardEnvironment shard_environment();

// The shard of this invocation from its flags: `shard_flag` (--shard I/N, "" when absent) and
// `shards` (--shards N, nullopt when absent). nullopt when neither is given (an unsharded run).
// With
// --shards the index comes from `env`: JOB_COMPLETION_INDEX, else SLURM_ARRAY_TASK_ID (both set
// and different is refused). Every refusal is kInvalidArgument (usage, exit 2) naming the fix:
// both flags, N < 1, I >= N, a missing or non-numeric index variable.
Result<std::optional<ShardSpec>> resolve_shard(const std::string& shard_flag,
                                               std::optional<std::uint32_t> shards,
                                               const ShardEnvironment& env);

}  // namespace cm
