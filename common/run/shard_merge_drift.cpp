#include "common/run/shard_merge_drift.hpp"

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"

namespace cm {
namespace {

// One shard's accepted_drift.json, or null when it accepted nothing.
Result<nlohmann::json> read_accepted(const WorkDir& shard) {
  if (!std::filesystem::exists(shard.accepted_drift())) return nlohmann::json();
  CM_ASSIGN_OR_RETURN(auto text, read_file(shard.accepted_drift()));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("dangling_references") ||
      !j["dangling_references"].is_array()) {
    return make_error(ErrorCode::kCorruption,
                      shard.accepted_drift().string() +
                          ": not an accepted-drift record (no dangling_references array)");
  }
  return j;
}

// Appends the elements of `from[key]` not yet in `seen` (by their JSON text) to `into`.
void add_unique(const nlohmann::json& from, const char* key, std::set<std::string>& seen,
                nlohmann::json& into) {
  if (!from.contains(key) || !from[key].is_array()) return;
  for (const auto& item : from[key]) {
    if (seen.insert(item.dump()).second) into.push_back(item);
  }
}

}  // namespace

Status merge_accepted_drift(const std::vector<std::filesystem::path>& shard_work_dirs,
                            const WorkDir& merged) {
  nlohmann::json out = {{"findings", nlohmann::json::array()},
                        {"dangling_references", nlohmann::json::array()},
                        {"contract_versions", nlohmann::json::array()},
                        {"shards", nlohmann::json::array()}};
  std::set<std::string> findings, references, versions;
  for (const auto& dir : shard_work_dirs) {
    const WorkDir shard(dir);
    CM_ASSIGN_OR_RETURN(nlohmann::json accepted, read_accepted(shard));
    if (accepted.is_null()) continue;
    if (accepted.contains("run_id")) out["run_id"] = accepted["run_id"];
    const std::string at = accepted.value("at", "");
    if (at > out.value("at", "")) out["at"] = at;  // the latest acceptance
    const std::string version = accepted.value("contract_version", "");
    if (versions.insert(version).second) out["contract_versions"].push_back(version);
    add_unique(accepted, "findings", findings, out["findings"]);
    add_unique(accepted, "dangling_references", references, out["dangling_references"]);
    out["shards"].push_back(dir.string());
  }
  if (out["shards"].empty()) return ok_status();
  out["stage"] = "preflight";
  if (versions.size() == 1) out["contract_version"] = *versions.begin();
  return write_file_atomic(merged.accepted_drift(), out.dump(2) + "\n");
}

}  // namespace cm
