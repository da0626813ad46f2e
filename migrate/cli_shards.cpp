#include "migrate/cli_shards.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/run/shard_merge.hpp"
#include "common/run/work_dir.hpp"

namespace cm::migrate {

void add_shard_options(CLI::App& app, ShardFlags& flags) {
  app.add_option(
      "--shard", flags.shard,
      "I/N: migrate only shard I of N (records split by a hash of collection and id); every "
      "shard runs with the same --run-id in its own --work-dir (README: sharded runs)");
  app.add_option("--shards", flags.shards,
                 "N: like --shard I/N with I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) "
                 "or SLURM_ARRAY_TASK_ID (Slurm array)");
  app.add_flag(
      "--prepare", flags.prepare,
      "with --shards N and --if-exists merge|replace: back up the existing target "
      "collections once (replace: and drop them, unless --stage: the shards' --cutover then "
      "retains them) into --work-dir, before any shard starts; the shards then take --prepared "
      "DIR");
  app.add_option("--prepared", flags.prepared,
                 "a shard with --if-exists merge|replace: the --work-dir of the run's --prepare");
}

Result<std::optional<ShardSpec>> shard_from_flags(const ShardFlags& flags, bool after_run) {
  CM_ASSIGN_OR_RETURN(auto shard, resolve_shard(flags.shard, flags.shards, shard_environment()));
  if (shard && after_run) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--shard/--shards only start or resume a shard's migration; --cutover and "
                      "--finalize take every shard's --work-dir instead, and --sync is not "
                      "supported for sharded runs");
  }
  return shard;
}

Result<ChosenWorkDir> choose_shard_work_dirs(const WorkDirFlags& flags) {
  ChosenWorkDir chosen{.work_dir = flags.work_dirs.empty() ? "" : flags.work_dirs.front(),
                       .report = flags.report};
  if (flags.work_dirs.size() < 2) return chosen;
  if (!flags.cutover && !flags.finalize) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--work-dir is given " + std::to_string(flags.work_dirs.size()) +
                          " times: only --cutover and --finalize take every shard's work dir; a "
                          "shard migrates in its own (--shard I/N --work-dir DIR)");
  }
  if (flags.cutover && !flags.no_final_sync) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--cutover of a sharded run needs --no-final-sync: sharded runs have no "
                      "sync, so stop writes to the source before the shards start and keep them "
                      "stopped until the cutover");
  }
  std::vector<std::filesystem::path> dirs(flags.work_dirs.begin(), flags.work_dirs.end());
  CM_ASSIGN_OR_RETURN(auto merged, merged_shard_work_dir(dirs));
  if (chosen.report.empty()) chosen.report = WorkDir(dirs.front()).validation_report().string();
  chosen.work_dir = merged.string();
  return chosen;
}

Result<Sharding> resolve_sharding(const ShardFlags& shard, const WorkDirFlags& dirs,
                                  const std::string& run_id) {
  Sharding out;
  if (shard.prepare) {
    if (!shard.shards || !shard.shard.empty() || !shard.prepared.empty() ||
        dirs.work_dirs.size() != 1 || dirs.sync || dirs.cutover || dirs.finalize) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--prepare takes --shards N (the run's shard count), one --work-dir (the "
                        "prepared dir the shards are given with --prepared) and the shards' "
                        "other flags; not --shard, --prepared, --sync, --cutover or --finalize");
    }
    out.prepare_shards = *shard.shards;
    out.dirs.work_dir = dirs.work_dirs.front();
    return out;
  }
  CM_ASSIGN_OR_RETURN(out.shard,
                      shard_from_flags(shard, dirs.sync || dirs.cutover || dirs.finalize));
  if (out.shard && !run_id.empty()) {
    spdlog::info("shard {} of run {}", out.shard->to_string(), run_id);
  }
  CM_ASSIGN_OR_RETURN(out.dirs, choose_shard_work_dirs(dirs));
  return out;
}

}  // namespace cm::migrate
