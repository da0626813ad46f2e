// Loading a mapping file, its hash, and the target collection plan (inheritance + overrides).
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/store/canonical.hpp"
#include "contracts/mapping.hpp"

namespace cm::contracts {
namespace {

using nlohmann::json;

// nlohmann keeps the last of two equal keys silently; a mapping with `"to"` twice in one rule is a
// mistake the operator must hear about, so the parser callback records the first duplicate.
struct DuplicateKeyDetector {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) duplicate = key;
    }
    return true;
  }
};

// Source collections whose records can reach `target`, in route order: a collection stops feeding
// later routes (and "unmatched") once a route without "where" caught all its records.
std::vector<std::string> feeders(const Mapping& m, const std::string& target) {
  std::vector<std::string> out;
  std::set<std::string> caught;
  auto add = [&](const std::string& name) {
    if (std::ranges::find(out, name) == out.end()) out.push_back(name);
  };
  for (const auto& route : m.routes) {
    for (const auto& name : route.from) {
      if (!caught.contains(name) && route.to == target) add(name);
    }
    if (route.where.empty()) caught.insert(route.from.begin(), route.from.end());
  }
  if (m.unmatched.kind == UnmatchedPolicy::Kind::kRoute && m.unmatched.to == target) {
    for (const auto& route : m.routes) {
      for (const auto& name : route.from) {
        if (!caught.contains(name)) add(name);
      }
    }
  }
  return out;
}

void apply_hnsw_overrides(const json& overrides, HnswConfig* h) {
  for (const auto& [key, value] : overrides.items()) {
    if (key == "ef_construction") h->ef_construction = value.get<int>();
    if (key == "ef_search") h->ef_search = value.get<int>();
    if (key == "max_neighbors") h->max_neighbors = value.get<int>();
    if (key == "resize_factor") h->resize_factor = value.get<double>();
    if (key == "sync_threshold") h->sync_threshold = value.get<int>();
  }
}

// A collection's configuration.embedding_function; null when it has none.
json embedding_function_of(const CollectionInfo& info) {
  if (!info.configuration.is_object()) return nullptr;
  auto it = info.configuration.find("embedding_function");
  return it == info.configuration.end() ? json(nullptr) : *it;
}

Result<CollectionSpec> plan_target(const Mapping& m, const TargetSettings& target,
                                   const std::vector<CollectionInfo>& sources) {
  std::vector<const CollectionInfo*> present;
  std::string listed;
  for (const auto& name : feeders(m, target.name)) {
    listed += (listed.empty() ? "" : ", ") + name;
    auto it = std::ranges::find(sources, name, &CollectionInfo::name);
    if (it != sources.end()) present.push_back(&*it);
  }
  const std::string where = m.origin + ": target " + target.name;
  if (present.empty() && !target.space) {
    return make_error(ErrorCode::kNotFound, where + ": none of its source collections (" + listed +
                                                ") exists and it declares no \"space\" to use");
  }
  if (!target.space) {
    for (const auto* info : present) {
      if (info->hnsw.space != present.front()->hnsw.space) {
        return make_error(ErrorCode::kInvalidArgument,
                          where + ": its sources disagree on the space (" + present.front()->name +
                              " is " + present.front()->hnsw.space + ", " + info->name + " is " +
                              info->hnsw.space + "): declare the target's \"space\"");
      }
    }
  }
  if (!target.embedding_function) {
    for (const auto* info : present) {
      if (embedding_function_of(*info) != embedding_function_of(*present.front())) {
        return make_error(ErrorCode::kInvalidArgument,
                          where + ": its sources disagree on the embedding function (" +
                              present.front()->name + " has " +
                              embedding_function_of(*present.front()).dump() + ", " + info->name +
                              " has " + embedding_function_of(*info).dump() +
                              "): declare the target's \"embedding_function\" (clients embed "
                              "query texts with it)");
      }
    }
  }
  CollectionSpec spec;
  spec.name = target.name;
  if (!present.empty()) {
    const CollectionInfo& first = *present.front();
    spec.hnsw = first.hnsw;
    for (const auto& [key, value] : first.metadata) {
      if (!key.starts_with("hnsw:")) spec.metadata.emplace(key, value);
    }
    if (first.configuration.is_object()) spec.configuration = first.configuration;
  }
  if (target.space) spec.hnsw.space = *target.space;
  if (target.embedding_function)
    spec.configuration["embedding_function"] = *target.embedding_function;
  apply_hnsw_overrides(target.hnsw_overrides, &spec.hnsw);
  for (const auto& [key, value] : target.metadata) spec.metadata[key] = value;
  // Stores that keep the configuration verbatim (snapshots) must see the resolved parameters.
  json& hnsw = spec.configuration["hnsw"];
  if (!hnsw.is_object()) hnsw = json::object();
  hnsw.update(hnsw_to_json(spec.hnsw));
  return spec;
}

}  // namespace

Result<Mapping> load_mapping(const std::filesystem::path& file) {
  const std::string origin = file.string();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return make_error(
        ec ? ErrorCode::kIo : ErrorCode::kNotFound,
        origin + ": mapping file " +
            (ec ? "cannot be checked: " + ec.message() : std::string("does not exist")));
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) return make_error(ErrorCode::kIo, origin + ": cannot read the mapping file");
  DuplicateKeyDetector detector;
  json document;
  try {
    document = json::parse(text.str(), std::ref(detector), /*allow_exceptions=*/true,
                           /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return make_error(ErrorCode::kInvalidArgument, origin + ": not valid JSON: " + what);
  }
  if (!detector.duplicate.empty()) {
    return make_error(
        ErrorCode::kInvalidArgument,
        origin + ": key " + json(detector.duplicate).dump() + " appears twice in one object");
  }
  return parse_mapping(document, origin);
}

std::string mapping_hash(const Mapping& m) {
  // nlohmann objects are key-sorted, so dump() is canonical for a given document.
  return xxh3_64_hex(m.canonical.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::vector<std::string> mapped_source_collections(const Mapping& m) {
  std::set<std::string> names;
  for (const auto& route : m.routes) names.insert(route.from.begin(), route.from.end());
  return {names.begin(), names.end()};
}

Result<std::vector<CollectionSpec>> plan_target_collections(
    const Mapping& m, const std::vector<CollectionInfo>& sources) {
  std::vector<CollectionSpec> out;
  for (const auto& [name, target] : m.targets) {
    CM_ASSIGN_OR_RETURN(auto spec, plan_target(m, target, sources));
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace cm::contracts
