#include "common/run/run_manifest.hpp"

#include "common/base/atomic_file.hpp"

namespace cm {

TargetCollectionEntry* RunManifest::find_target(const std::string& name) {
  for (auto& entry : target_collections) {
    if (entry.name == name || (!entry.staging_name.empty() && entry.staging_name == name))
      return &entry;
  }
  return nullptr;
}

bool owned_by_run(const CollectionInfo& info, const std::string& run_id) {
  auto it = info.metadata.find(kLedgerRunId);
  return it != info.metadata.end() && std::holds_alternative<std::string>(it->second) &&
         std::get<std::string>(it->second) == run_id;
}

std::string staging_name_for(const std::string& live, const std::string& run_id) {
  return live + ".staged-" + run_id;
}
std::string retained_name_for(const std::string& live, const std::string& run_id) {
  return live + ".retained-" + run_id;
}

const TargetCollectionEntry* RunManifest::find_target(const std::string& name) const {
  return const_cast<RunManifest*>(this)->find_target(name);
}

std::string RunManifest::data_location(const TargetCollectionEntry& entry) const {
  if (entry.staging_name.empty()) return entry.name;
  for (const auto& step : cutover.steps) {
    if (step.from == entry.staging_name && step.to == entry.name &&
        step.state == RenameState::kDone)
      return entry.name;
  }
  return entry.staging_name;
}

namespace {

nlohmann::json cutover_to_json(const CutoverRecord& c) {
  auto steps = nlohmann::json::array();
  for (const auto& s : c.steps) {
    steps.push_back({{"collection_id", s.collection_id},
                     {"from", s.from},
                     {"to", s.to},
                     {"state", enum_name(s.state)},
                     {"done_at", s.done_at}});
  }
  return {{"state", enum_name(c.state)},
          {"report", c.report},
          {"report_status", enum_name(c.report_status)},
          {"started_at", c.started_at},
          {"finished_at", c.finished_at},
          {"finalized_at", c.finalized_at},
          {"steps", steps},
          {"retained", c.retained}};
}

Result<CutoverRecord> cutover_from_json(const nlohmann::json& j) {
  CutoverRecord c;
  if (!j.is_object()) return c;
  CM_ASSIGN_OR_RETURN(c.state,
                      parse_enum<CutoverState>(j.value("state", ""), "run.json", "cutover.state"));
  c.report = j.value("report", "");
  CM_ASSIGN_OR_RETURN(
      c.report_status,
      parse_enum<ReportStatus>(j.value("report_status", ""), "run.json", "cutover.report_status"));
  c.started_at = j.value("started_at", "");
  c.finished_at = j.value("finished_at", "");
  c.finalized_at = j.value("finalized_at", "");
  const auto steps = j.value("steps", nlohmann::json::array());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    CM_ASSIGN_OR_RETURN(auto state,
                        parse_enum<RenameState>(s.at("state").get<std::string>(), "run.json",
                                                "cutover.steps[" + std::to_string(i) + "].state"));
    c.steps.push_back({.collection_id = s.at("collection_id").get<std::string>(),
                       .from = s.at("from").get<std::string>(),
                       .to = s.at("to").get<std::string>(),
                       .state = state,
                       .done_at = s.value("done_at", "")});
  }
  c.retained = j.value("retained", std::vector<std::string>{});
  return c;
}

}  // namespace

nlohmann::json run_manifest_to_json(const RunManifest& m) {
  auto targets = nlohmann::json::array();
  for (const auto& t : m.target_collections) {
    targets.push_back({{"name", t.name},
                       {"action", enum_name(t.action)},
                       {"state", enum_name(t.state)},
                       {"source_collections", t.source_collections},
                       {"expected_records", t.expected_records},
                       {"staging_name", t.staging_name},
                       {"disrupted_at", t.disrupted_at},
                       {"backed_up_id", t.backed_up_id},
                       {"quarantine_name", t.quarantine_name},
                       {"collection_id", t.collection_id},
                       {"adopted", t.adopted}});
  }
  nlohmann::json out = {
      {"format_version", RunManifest::kFormatVersion},
      {"run_id", m.run_id},
      {"tool_version", m.tool_version},
      {"started_at", m.started_at},
      {"source", m.source},
      {"target", m.target},
      {"config", m.config},
      {"source_collections", m.source_collections},
      {"import_snapshot", m.import_snapshot},
      {"target_collections", targets},
      {"target_kind", enum_name(m.target_kind)},
      {"mapping_hash", m.mapping_hash},
      {"contract_version", m.contract_version},
      {"dry_run", m.dry_run},
      {"backup", m.backup},
      {"contract_overrides", m.contract_overrides},
      {"syncs", m.syncs},
      {"unrecoverable_at_source", m.unrecoverable_at_source},
      {"staged", m.staged},
      {"cutover", cutover_to_json(m.cutover)},
      {"rolled_back_at", m.rolled_back_at},
      {"shard", m.shard ? nlohmann::json(m.shard->to_string()) : nlohmann::json()}};
  // Only prepared shards carry the key: every other run.json stays as it was.
  if (!m.prepared.empty()) out["prepared"] = m.prepared;
  return out;
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
    CM_ASSIGN_OR_RETURN(m.target_kind, parse_enum<TargetKind>(j.value("target_kind", "test"),
                                                              "run.json", "target_kind"));
    m.mapping_hash = j.value("mapping_hash", "");
    m.contract_version = j.value("contract_version", "");
    m.dry_run = j.value("dry_run", false);
    m.backup = j.value("backup", nlohmann::json::object());
    m.contract_overrides = j.value("contract_overrides", nlohmann::json::array());
    m.syncs = j.value("syncs", nlohmann::json::array());
    m.unrecoverable_at_source = j.value("unrecoverable_at_source", nlohmann::json::object());
    m.staged = j.value("staged", false);
    CM_ASSIGN_OR_RETURN(m.cutover, cutover_from_json(j.value("cutover", nlohmann::json::object())));
    m.rolled_back_at = j.value("rolled_back_at", "");
    m.prepared = j.value("prepared", "");
    if (j.contains("shard") && !j["shard"].is_null()) {
      auto shard = parse_shard_spec(j["shard"].get<std::string>());
      if (!shard) {
        return make_error(ErrorCode::kCorruption, "run.json field shard: " + shard.error().message);
      }
      m.shard = *shard;
    }
    const auto& targets = j.at("target_collections");
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto& t = targets[i];
      const std::string field = "target_collections[" + std::to_string(i) + "]";
      CM_ASSIGN_OR_RETURN(auto action, parse_enum<LedgerAction>(t.at("action").get<std::string>(),
                                                                "run.json", field + ".action"));
      CM_ASSIGN_OR_RETURN(auto state, parse_enum<LedgerState>(t.at("state").get<std::string>(),
                                                              "run.json", field + ".state"));
      m.target_collections.push_back(
          {.name = t.at("name").get<std::string>(),
           .action = action,
           .state = state,
           .source_collections = t.at("source_collections").get<std::vector<std::string>>(),
           .expected_records = t.value("expected_records", std::uint64_t{0}),
           .staging_name = t.value("staging_name", ""),
           .disrupted_at = t.value("disrupted_at", ""),
           .backed_up_id = t.value("backed_up_id", ""),
           .quarantine_name = t.value("quarantine_name", ""),
           .collection_id = t.value("collection_id", ""),
           .adopted = t.value("adopted", false)});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kCorruption, std::string("run.json is unreadable: ") + e.what());
  }
}

}  // namespace cm
