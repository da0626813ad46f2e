// apply_configuration (persist_catalog.hpp): a collection's configuration from config_json_str and
// the legacy `hnsw:*` keys.
#include <limits>

#include "common/persist/persist_catalog.hpp"

namespace cm {
namespace {

using nlohmann::json;

std::unexpected<Error> bad(const std::string& why) {
  return make_error(ErrorCode::kCorruption, "config_json_str: " + why);
}

Status read_int(const json& obj, const char* key, int* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_status();
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
      it->get<std::int64_t>() > std::numeric_limits<int>::max()) {
    return bad(std::string(key) + " is not a non-negative 32-bit integer: " + it->dump());
  }
  *out = static_cast<int>(it->get<std::int64_t>());
  return ok_status();
}

// The HNSW parameters of a 1.x "hnsw" object or a 0.5/0.6 "hnsw_configuration" object (which
// calls max_neighbors "M").
Status read_hnsw(const json& obj, const char* neighbors_key, HnswConfig* h) {
  if (!obj.is_object()) return bad("the HNSW parameters are not an object: " + obj.dump());
  if (auto it = obj.find("space"); it != obj.end() && !it->is_null()) {
    if (!it->is_string()) return bad("space is not a string: " + it->dump());
    h->space = it->get<std::string>();
  }
  CM_RETURN_IF_ERROR(read_int(obj, "ef_construction", &h->ef_construction));
  CM_RETURN_IF_ERROR(read_int(obj, "ef_search", &h->ef_search));
  CM_RETURN_IF_ERROR(read_int(obj, neighbors_key, &h->max_neighbors));
  CM_RETURN_IF_ERROR(read_int(obj, "sync_threshold", &h->sync_threshold));
  if (auto it = obj.find("resize_factor"); it != obj.end() && !it->is_null()) {
    if (!it->is_number()) return bad("resize_factor is not a number: " + it->dump());
    h->resize_factor = it->get<double>();
  }
  return ok_status();
}

// Legacy metadata keys, named as Chroma 0.x named them.
Status apply_legacy(const Metadata& keys, HnswConfig* h) {
  auto int_key = [&](const char* key, int* out) -> Status {
    auto it = keys.find(key);
    if (it == keys.end()) return ok_status();
    const auto* v = std::get_if<std::int64_t>(&it->second);
    if (!v || *v < 0 || *v > std::numeric_limits<int>::max()) {
      return make_error(ErrorCode::kCorruption,
                        std::string("metadata '") + key + "' is not a non-negative integer");
    }
    *out = static_cast<int>(*v);
    return ok_status();
  };
  if (auto it = keys.find("hnsw:space"); it != keys.end()) {
    const auto* s = std::get_if<std::string>(&it->second);
    if (!s) return make_error(ErrorCode::kCorruption, "metadata 'hnsw:space' is not a string");
    h->space = *s;
  }
  CM_RETURN_IF_ERROR(int_key("hnsw:construction_ef", &h->ef_construction));
  CM_RETURN_IF_ERROR(int_key("hnsw:search_ef", &h->ef_search));
  CM_RETURN_IF_ERROR(int_key("hnsw:M", &h->max_neighbors));
  CM_RETURN_IF_ERROR(int_key("hnsw:sync_threshold", &h->sync_threshold));
  if (auto it = keys.find("hnsw:resize_factor"); it != keys.end()) {
    if (const auto* d = std::get_if<double>(&it->second)) {
      h->resize_factor = *d;
    } else if (const auto* i = std::get_if<std::int64_t>(&it->second)) {
      h->resize_factor = static_cast<double>(*i);
    } else {
      return make_error(ErrorCode::kCorruption, "metadata 'hnsw:resize_factor' is not a number");
    }
  }
  return ok_status();
}

}  // namespace

Status apply_configuration(const std::string& config_json_str, const Metadata& legacy_keys,
                           CollectionInfo* info) {
  json config = json::object();
  if (!config_json_str.empty()) {
    config = json::parse(config_json_str, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded() || !(config.is_object() || config.is_null())) {
      return bad("not a JSON object: " + config_json_str.substr(0, 200));
    }
    if (config.is_null()) config = json::object();
  }
  HnswConfig h;
  HnswConfig legacy;
  CM_RETURN_IF_ERROR(apply_legacy(legacy_keys, &legacy));
  json hnsw_json = nullptr;
  json spann_json = nullptr;
  if (auto vi = config.find("vector_index"); vi != config.end() && vi->is_object()) {  // 1.x
    if (auto it = vi->find("hnsw"); it != vi->end() && !it->is_null()) {
      CM_RETURN_IF_ERROR(read_hnsw(*it, "max_neighbors", &h));
      hnsw_json = *it;
      // Chroma 1.x: legacy keys win over a configuration left at its defaults.
      if (h == HnswConfig{} && legacy != h) {
        h = legacy;
        hnsw_json = hnsw_to_json(h);
      }
    }
    if (auto it = vi->find("spann"); it != vi->end()) spann_json = *it;
  } else {  // 0.x: the index was built from the legacy keys, over hnsw_configuration if any
    if (auto it = config.find("hnsw_configuration"); it != config.end() && it->is_object()) {
      CM_RETURN_IF_ERROR(read_hnsw(*it, "M", &h));
    }
    CM_RETURN_IF_ERROR(apply_legacy(legacy_keys, &h));
    hnsw_json = hnsw_to_json(h);
  }
  info->hnsw = h;
  const auto ef = config.find("embedding_function");
  info->configuration = {{"hnsw", hnsw_json},
                         {"spann", spann_json},
                         {"embedding_function", ef == config.end() ? json(nullptr) : *ef}};
  return ok_status();
}

}  // namespace cm
