// The command-line side of sharded runs (common/run/shard.hpp) for chroma-migrate:
//   --shard I/N, or --shards N with the scheduler's index    this invocation is shard I of N
//   --cutover/--finalize --work-dir D0 --work-dir D1 ...     the swap (or drop) of a staged sharded
//                                                            run, once, for all of its shards
//   --prepare --shards N --work-dir DP                       before the shards of a run with
//                                                            --if-exists merge|replace: the one
//                                                            backup (migrate/prepare.hpp)
//   --shard I/N --prepared DP                                a shard of such a run
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/base/error.hpp"
#include "common/run/shard.hpp"

namespace cm::migrate {

struct ShardFlags {
  std::string shard;                    // --shard I/N ("" absent)
  std::optional<std::uint32_t> shards;  // --shards N
  bool prepare = false;                 // --prepare (with --shards N: the count, no index)
  std::string prepared;                 // --prepared DIR
};
// Adds --shard and --shards to chroma-migrate's flags.
void add_shard_options(CLI::App& app, ShardFlags& flags);

// The shard of this invocation (nullopt: unsharded); usage errors (exit 2) name the fix. --shard
// with --sync/--cutover/--finalize (`after_run`) is refused: those act on finished runs.
Result<std::optional<ShardSpec>> shard_from_flags(const ShardFlags& flags, bool after_run);

struct WorkDirFlags {
  std::vector<std::string> work_dirs;  // every --work-dir, in order
  bool sync = false, cutover = false, finalize = false, no_final_sync = false;
  std::string report;  // --report
};
struct ChosenWorkDir {
  std::string work_dir;  // "" when none was given
  std::string report;    // --report, or for shards the first dir's validation report
};

// One --work-dir: itself. Several: the shards of one staged run for --cutover (which then needs
// --no-final-sync: a sharded run has no sync) or --finalize, which act on the work dir merged from
// them (common/run/shard_merge.hpp; built when chroma-validate did not build it) with the verdict
// in the first dir. Anything else given several dirs is a usage error.
Result<ChosenWorkDir> choose_shard_work_dirs(const WorkDirFlags& flags);

// Both of the above, in that order (a bad shard writes nothing), logging the shard.
struct Sharding {
  std::optional<ShardSpec> shard;
  std::optional<std::uint32_t> prepare_shards;  // --prepare: N of --shards N
  ChosenWorkDir dirs;
};
// --prepare takes --shards N as the count (no scheduler index) and needs an explicit --work-dir.
Result<Sharding> resolve_sharding(const ShardFlags& shard, const WorkDirFlags& dirs,
                                  const std::string& run_id);

}  // namespace cm::migrate
