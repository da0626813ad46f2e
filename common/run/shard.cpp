#include "common/run/shard.hpp"

#include <charconv>
#include <cstdlib>

#include <xxhash.h>

namespace cm {
namespace {

// A whole decimal number (no sign, no spaces, no trailing text); nullopt for anything else.
std::optional<std::uint32_t> parse_count(std::string_view text) {
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

Error usage(const std::string& why) {
  return Error{ErrorCode::kInvalidArgument, why};
}

// The index a scheduler gave this process, from the first variable that is set.
Result<std::uint32_t> index_from_environment(const ShardEnvironment& env, std::uint32_t count) {
  const auto& k8s = env.job_completion_index;
  const auto& slurm = env.slurm_array_task_id;
  if (!k8s && !slurm) {
    return std::unexpected(
        usage("--shards " + std::to_string(count) +
              " takes this shard's index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or "
              "SLURM_ARRAY_TASK_ID (a Slurm array, --array=0-" +
              std::to_string(count - 1) +
              "); neither is set. Run under such a scheduler, or give --shard I/" +
              std::to_string(count) + " instead"));
  }
  if (k8s && slurm && *k8s != *slurm) {
    return std::unexpected(usage("JOB_COMPLETION_INDEX (" + *k8s + ") and SLURM_ARRAY_TASK_ID (" +
                                 *slurm +
                                 ") are both set and differ: unset the one that is not this "
                                 "scheduler's, or give --shard I/N"));
  }
  const std::string& text = k8s ? *k8s : *slurm;
  const char* name = k8s ? "JOB_COMPLETION_INDEX" : "SLURM_ARRAY_TASK_ID";
  const auto index = parse_count(text);
  if (!index) {
    return std::unexpected(usage(std::string(name) + "='" + text +
                                 "' is not a shard index (a whole number from 0 to " +
                                 std::to_string(count - 1) + ")"));
  }
  if (*index >= count) {
    return std::unexpected(usage(
        std::string(name) + "=" + text + " is not below --shards " + std::to_string(count) +
        ": the array must run indexes 0 to " + std::to_string(count - 1) + " (Slurm: --array=0-" +
        std::to_string(count - 1) + "; Kubernetes: completions equal to --shards)"));
  }
  return *index;
}

}  // namespace

std::string ShardSpec::to_string() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

bool ShardSpec::owns(std::string_view collection, std::string_view id) const {
  return shard_of(collection, id, count) == index;
}

std::uint32_t shard_of(std::string_view collection, std::string_view id, std::uint32_t count) {
  std::string key;
  key.reserve(collection.size() + 1 + id.size());
  key.append(collection).push_back('\0');
  key.append(id);
  return static_cast<std::uint32_t>(XXH64(key.data(), key.size(), 0) % (count ? count : 1));
}

Result<ShardSpec> parse_shard_spec(std::string_view text) {
  const auto slash = text.find('/');
  const auto index = parse_count(text.substr(0, slash));
  const auto count =
      slash == std::string_view::npos ? std::nullopt : parse_count(text.substr(slash + 1));
  if (!index || !count) {
    return std::unexpected(usage("--shard '" + std::string(text) +
                                 "' is not I/N (e.g. --shard 0/3: the first of three shards)"));
  }
  if (*count < 1)
    return std::unexpected(usage("--shard " + std::string(text) + ": N must be >= 1"));
  if (*index >= *count) {
    return std::unexpected(usage("--shard " + std::string(text) +
                                 ": the index must be below N (0 to " + std::to_string(*count - 1) +
                                 ")"));
  }
  return ShardSpec{.index = *index, .count = *count};
}

ShardEnvironment shard_environment() {
  ShardEnvironment env;
  if (const char* v = std::getenv("JOB_COMPLETION_INDEX")) env.job_completion_index = v;
  if (const char* v = std::getenv("SLURM_ARRAY_TASK_ID")) env.slurm_array_task_id = v;
  return env;
}

Result<std::optional<ShardSpec>> resolve_shard(const std::string& shard_flag,
                                               std::optional<std::uint32_t> shards,
                                               const ShardEnvironment& env) {
  if (!shard_flag.empty() && shards) {
    return std::unexpected(usage(
        "--shard and --shards are two forms of one choice: give --shard I/N, or --shards N with "
        "the index from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID"));
  }
  if (!shard_flag.empty()) {
    CM_ASSIGN_OR_RETURN(auto spec, parse_shard_spec(shard_flag));
    return std::optional<ShardSpec>(spec);
  }
  if (!shards) return std::optional<ShardSpec>();
  if (*shards < 1) {
    return std::unexpected(usage("--shards " + std::to_string(*shards) +
                                 ": N must be >= 1 (the number of shards the array runs)"));
  }
  CM_ASSIGN_OR_RETURN(auto index, index_from_environment(env, *shards));
  return std::optional<ShardSpec>(ShardSpec{.index = index, .count = *shards});
}

}  // namespace cm
