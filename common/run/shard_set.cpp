#include "common/run/shard_set.hpp"

#include <algorithm>

namespace cm {

Result<ShardSet> load_shard_set(const std::vector<std::filesystem::path>& work_dirs) {
  ShardSet set;
  std::vector<std::pair<std::uint32_t, std::size_t>> order;  // (shard index, position in the list)
  std::vector<RunManifest> loaded;
  for (const auto& dir : work_dirs) {
    const auto file = dir / "run.json";
    if (!std::filesystem::exists(file)) {
      return make_error(ErrorCode::kNotFound,
                        dir.string() + " holds no chroma-migrate run (no run.json)");
    }
    CM_ASSIGN_OR_RETURN(auto store, RunManifestStore::load(file));
    RunManifest m = store->get();
    if (!m.shard) {
      return make_error(ErrorCode::kInvalidArgument,
                        dir.string() + " holds run " + m.run_id +
                            ", which is not sharded: give --work-dir once per shard of one "
                            "sharded run (chroma-migrate --shard I/N), or one unsharded run alone");
    }
    if (set.run_id.empty()) {
      set.run_id = m.run_id;
      set.count = m.shard->count;
    } else if (m.run_id != set.run_id || m.shard->count != set.count) {
      return make_error(ErrorCode::kConfigMismatch,
                        dir.string() + " holds shard " + m.shard->to_string() + " of run " +
                            m.run_id + ", but " + work_dirs.front().string() + " holds one of " +
                            std::to_string(set.count) + " shards of run " + set.run_id +
                            ": every --work-dir must be a shard of the same run");
    }
    order.emplace_back(m.shard->index, loaded.size());
    loaded.push_back(std::move(m));
  }
  std::sort(order.begin(), order.end());
  std::string missing, doubled;
  for (std::uint32_t i = 0, at = 0; i < set.count; ++i) {
    std::size_t seen = 0;
    while (at < order.size() && order[at].first == i) ++seen, ++at;
    if (seen == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    if (seen > 1) doubled += (doubled.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!missing.empty() || !doubled.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the work dirs are not the " + std::to_string(set.count) + " shards of run " +
                          set.run_id + (missing.empty() ? "" : "; missing shard(s) " + missing) +
                          (doubled.empty() ? "" : "; shard(s) given twice " + doubled) +
                          ": give --work-dir once for each shard 0 to " +
                          std::to_string(set.count - 1));
  }
  for (const auto& [index, position] : order) {
    set.work_dirs.push_back(work_dirs[position]);
    set.manifests.push_back(loaded[position]);
  }
  return set;
}

bool holds_shard(const std::filesystem::path& work_dir) {
  const auto file = work_dir / "run.json";
  if (work_dir.empty() || !std::filesystem::exists(file)) return false;
  auto store = RunManifestStore::load(file);
  return store && (*store)->get().shard.has_value();
}

}  // namespace cm
