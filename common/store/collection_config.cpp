#include "common/store/collection_config.hpp"

#include <set>

#include "common/store/record.hpp"

namespace cm {
namespace {

using nlohmann::json;

const json& member(const json& object, const std::string& key) {
  static const json kNull = nullptr;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

// hnsw with Chroma's defaults filled in for absent or null keys.
json hnsw_filled(const json& hnsw) {
  json out = hnsw_to_json(HnswConfig{});
  if (!hnsw.is_object()) return out;
  for (const auto& [key, value] : hnsw.items()) {
    if (!value.is_null()) out[key] = value;
  }
  return out;
}

}  // namespace

std::vector<std::string> configuration_differences(const json& planned, const json& actual) {
  static const std::set<std::string> kIgnored = {"_type", "hnsw_configuration"};
  std::set<std::string> keys;
  for (const json* side : {&planned, &actual}) {
    if (!side->is_object()) continue;
    for (const auto& [key, value] : side->items()) {
      if (!kIgnored.contains(key)) keys.insert(key);
    }
  }
  std::vector<std::string> out;
  for (const auto& key : keys) {
    const json& want = member(planned, key);
    const json& got = member(actual, key);
    if (key == "hnsw") {
      // A configuration whose index is spann has no hnsw to compare.
      if (want.is_null() && !member(planned, "spann").is_null()) continue;
      const json a = hnsw_filled(want), b = hnsw_filled(got);
      for (const auto& [k, v] : a.items()) {
        const json& other = member(b, k);
        if (v != other)
          out.push_back("hnsw." + k + ": planned " + shown(v) + ", found " + shown(other));
      }
      for (const auto& [k, v] : b.items()) {
        if (!a.contains(k)) out.push_back("hnsw." + k + ": planned null, found " + shown(v));
      }
      continue;
    }
    if (want != got) out.push_back(key + ": planned " + shown(want) + ", found " + shown(got));
  }
  return out;
}

}  // namespace cm
