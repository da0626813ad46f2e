#include "common/run_manifest.hpp"

#include "common/atomic_file.hpp"

namespace cm {

TargetCollectionEntry* RunManifest::find_target(const std::string& name) {
  for (auto& entry : target_collections) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

nlohmann::json run_manifest_to_json(const RunManifest& m) {
  auto targets = nlohmann::json::array();
  for (const auto& t : m.target_collections) {
    targets.push_back({{"name", t.name},
                       {"action", t.action},
                       {"state", t.state},
                       {"source_collections", t.source_collections},
                       {"expected_records", t.expected_records}});
  }
  return {{"format_version", RunManifest::kFormatVersion},
          {"run_id", m.run_id},
          {"tool_version", m.tool_version},
          {"started_at", m.started_at},
          {"source", m.source},
          {"target", m.target},
          {"config", m.config},
          {"source_collections", m.source_collections},
          {"import_snapshot", m.import_snapshot},
          {"target_collections", targets},
          {"target_kind", m.target_kind},
          {"mapping_hash", m.mapping_hash},
          {"contract_version", m.contract_version},
          {"dry_run", m.dry_run},
          {"backup", m.backup},
          {"contract_overrides", m.contract_overrides}};
}

Result<RunManifest> run_manifest_from_json(const nlohmann::json& j) {
  try {
    RunManifest m;
    if (j.at("format_version").get<int>() != RunManifest::kFormatVersion) {
      return make_error(
          ErrorCode::kCorruption,
          "run.json format_version " + j.at("format_version").dump() + " is not supported");
    }
    m.run_id = j.at("run_id").get<std::string>();
    m.tool_version = j.value("tool_version", "");
    m.started_at = j.value("started_at", "");
    m.source = j.at("source").get<std::string>();
    m.target = j.at("target").get<std::string>();
    m.config = j.at("config");
    m.source_collections = j.at("source_collections").get<std::vector<std::string>>();
    m.import_snapshot = j.value("import_snapshot", "");
    m.target_kind = j.value("target_kind", "test");
    m.mapping_hash = j.value("mapping_hash", "");
    m.contract_version = j.value("contract_version", "");
    m.dry_run = j.value("dry_run", false);
    m.backup = j.value("backup", nlohmann::json::object());
    m.contract_overrides = j.value("contract_overrides", nlohmann::json::array());
    for (const auto& t : j.at("target_collections")) {
      m.target_collections.push_back({t.at("name").get<std::string>(),
                                      t.at("action").get<std::string>(),
                                      t.at("state").get<std::string>(),
                                      t.at("source_collections").get<std::vector<std::string>>(),
                                      t.value("expected_records", std::uint64_t{0})});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kCorruption, std::string("run.json is unreadable: ") + e.what());
  }
}

Result<std::unique_ptr<RunManifestStore>> RunManifestStore::create(
    const std::filesystem::path& path, RunManifest manifest) {
  CM_RETURN_IF_ERROR(write_file_atomic(path, run_manifest_to_json(manifest).dump(2) + "\n"));
  return std::unique_ptr<RunManifestStore>(new RunManifestStore(path, std::move(manifest)));
}

Result<std::unique_ptr<RunManifestStore>> RunManifestStore::load(
    const std::filesystem::path& path) {
  CM_ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded())
    return make_error(ErrorCode::kCorruption, path.string() + " is not valid JSON");
  CM_ASSIGN_OR_RETURN(RunManifest manifest, run_manifest_from_json(json));
  return std::unique_ptr<RunManifestStore>(new RunManifestStore(path, std::move(manifest)));
}

RunManifest RunManifestStore::get() const {
  std::lock_guard lock(mutex_);
  return manifest_;
}

Status RunManifestStore::update(const std::function<void(RunManifest&)>& change) {
  std::lock_guard lock(mutex_);
  RunManifest next = manifest_;
  change(next);
  CM_RETURN_IF_ERROR(write_file_atomic(path_, run_manifest_to_json(next).dump(2) + "\n"));
  manifest_ = std::move(next);
  return ok_status();
}

}  // namespace cm
