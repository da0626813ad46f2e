// The work dirs of a sharded run taken together (common/run/shard.hpp): chroma-validate,
// chroma-rollback and chroma-migrate --cutover/--finalize accept --work-dir once per shard and act
// on the whole migration only when the dirs are exactly the shards of one run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/run/run_manifest.hpp"

namespace cm {

// A complete set of shard work dirs, ordered by shard index.
struct ShardSet {
  std::string run_id;
  std::uint32_t count = 0;
  std::vector<std::filesystem::path> work_dirs;  // [i] holds shard i/count
  std::vector<RunManifest> manifests;            // [i] its run.json
};

// Loads the run.json of every dir and checks that they are the shards of one run: the same run id,
// each a sharded run of the same N, every index 0..N-1 exactly once. Errors: kNotFound (a dir
// without run.json), kInvalidArgument naming what is missing or doubled, kConfigMismatch (another
// run id or N).
Result<ShardSet> load_shard_set(const std::vector<std::filesystem::path>& work_dirs);

// Whether `work_dir` holds a shard of a sharded run (run.json names one). False when it holds no
// readable run.json: the caller reports that as it always did. A shard's work dir alone is 1/N of
// the run: validation and rollback take every shard's (load_shard_set refuses fewer).
bool holds_shard(const std::filesystem::path& work_dir);

}  // namespace cm
