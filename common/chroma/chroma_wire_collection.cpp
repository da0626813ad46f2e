// Decoding of Chroma's small answers (collections, counts, pre-flight checks, errors) with
// nlohmann::json. Every public function catches nlohmann's exceptions at its boundary.
#include <cctype>
#include <limits>
#include <new>

#include "common/chroma/chroma_wire.hpp"

namespace cm {
namespace {

using nlohmann::json;

Result<json> parse_json(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return wire_protocol_error(std::string(what) + " is not JSON: " + server_error_message(body));
  }
  return j;
}

// Reads an int-valued setting; absent or null keeps the default.
Status read_int(const json& obj, const char* key, int* out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_status();
  if (!it->is_number_integer() || it->get<std::int64_t>() < std::numeric_limits<int>::min() ||
      it->get<std::int64_t>() > std::numeric_limits<int>::max()) {
    return wire_protocol_error(where + "." + key + " is not a 32-bit integer: " + it->dump());
  }
  *out = static_cast<int>(it->get<std::int64_t>());
  return ok_status();
}

Status read_double(const json& obj, const char* key, double* out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_status();
  if (!it->is_number())
    return wire_protocol_error(where + "." + key + " is not a number: " + it->dump());
  *out = it->get<double>();
  return ok_status();
}

Status read_string(const json& obj, const char* key, std::string* out, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok_status();
  if (!it->is_string())
    return wire_protocol_error(where + "." + key + " is not a string: " + it->dump());
  *out = it->get<std::string>();
  return ok_status();
}

// Legacy (0.4-0.6) collections keep their real index settings in metadata keys; those servers
// built the index from them, whatever configuration_json said.
Status apply_legacy_metadata(const Metadata& metadata, HnswConfig* h) {
  auto get_int = [&](const char* key, int* out) -> Status {
    auto it = metadata.find(key);
    if (it == metadata.end()) return ok_status();
    const auto* v = std::get_if<std::int64_t>(&it->second);
    if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
      return wire_protocol_error(std::string("collection metadata '") + key +
                                 "' is not a 32-bit integer");
    }
    *out = static_cast<int>(*v);
    return ok_status();
  };
  if (auto it = metadata.find("hnsw:space"); it != metadata.end()) {
    const auto* s = std::get_if<std::string>(&it->second);
    if (!s) return wire_protocol_error("collection metadata 'hnsw:space' is not a string");
    h->space = *s;
  }
  CM_RETURN_IF_ERROR(get_int("hnsw:construction_ef", &h->ef_construction));
  CM_RETURN_IF_ERROR(get_int("hnsw:search_ef", &h->ef_search));
  CM_RETURN_IF_ERROR(get_int("hnsw:M", &h->max_neighbors));
  CM_RETURN_IF_ERROR(get_int("hnsw:sync_threshold", &h->sync_threshold));
  if (auto it = metadata.find("hnsw:resize_factor"); it != metadata.end()) {
    if (const auto* d = std::get_if<double>(&it->second)) {
      h->resize_factor = *d;
    } else if (const auto* i = std::get_if<std::int64_t>(&it->second)) {
      h->resize_factor = static_cast<double>(*i);
    } else {
      return wire_protocol_error("collection metadata 'hnsw:resize_factor' is not a number");
    }
  }
  return ok_status();
}

Result<HnswConfig> hnsw_of(const json& configuration, const Metadata& metadata) {
  HnswConfig h;
  if (configuration.is_object()) {
    auto it = configuration.find("hnsw");
    if (it != configuration.end() && it->is_object()) {  // 1.x
      const std::string where = "configuration_json.hnsw";
      CM_RETURN_IF_ERROR(read_string(*it, "space", &h.space, where));
      CM_RETURN_IF_ERROR(read_int(*it, "ef_construction", &h.ef_construction, where));
      CM_RETURN_IF_ERROR(read_int(*it, "ef_search", &h.ef_search, where));
      CM_RETURN_IF_ERROR(read_int(*it, "max_neighbors", &h.max_neighbors, where));
      CM_RETURN_IF_ERROR(read_double(*it, "resize_factor", &h.resize_factor, where));
      CM_RETURN_IF_ERROR(read_int(*it, "sync_threshold", &h.sync_threshold, where));
      return h;
    }
    it = configuration.find("hnsw_configuration");
    if (it != configuration.end() && it->is_object()) {  // 0.5.x / 0.6.x
      const std::string where = "configuration_json.hnsw_configuration";
      CM_RETURN_IF_ERROR(read_string(*it, "space", &h.space, where));
      CM_RETURN_IF_ERROR(read_int(*it, "ef_construction", &h.ef_construction, where));
      CM_RETURN_IF_ERROR(read_int(*it, "ef_search", &h.ef_search, where));
      CM_RETURN_IF_ERROR(read_int(*it, "M", &h.max_neighbors, where));
      CM_RETURN_IF_ERROR(read_double(*it, "resize_factor", &h.resize_factor, where));
      CM_RETURN_IF_ERROR(read_int(*it, "sync_threshold", &h.sync_threshold, where));
    }
  }
  CM_RETURN_IF_ERROR(apply_legacy_metadata(metadata, &h));
  return h;
}

template <typename Fn>
auto json_guarded(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const json::exception& e) {
    return wire_protocol_error(std::string(what) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kInternal, std::string(what) + ": out of memory");
  }
}

}  // namespace

Result<CollectionInfo> parse_collection(const json& j) {
  return json_guarded("collection", [&]() -> Result<CollectionInfo> {
    if (!j.is_object())
      return wire_protocol_error("a collection is not a JSON object: " + j.dump());
    CollectionInfo info;
    auto id = j.find("id");
    auto name = j.find("name");
    if (id == j.end() || !id->is_string() || name == j.end() || !name->is_string()) {
      return wire_protocol_error("a collection lacks a string id or name: " +
                                 j.dump().substr(0, 300));
    }
    info.id = id->get<std::string>();
    info.name = name->get<std::string>();
    const std::string where = "collection '" + info.name + "'";
    if (auto m = j.find("metadata"); m != j.end()) {
      std::string why;
      auto metadata = metadata_from_json(*m, &why);
      if (!metadata) return wire_protocol_error(where + ": " + why);
      info.metadata = std::move(*metadata);
    }
    if (auto d = j.find("dimension"); d != j.end() && !d->is_null()) {
      if (!d->is_number_integer() || d->get<std::int64_t>() < 0 ||
          d->get<std::int64_t>() > std::numeric_limits<int>::max()) {
        return wire_protocol_error(where + " has a bad dimension: " + d->dump());
      }
      info.dimension = static_cast<int>(d->get<std::int64_t>());
    }
    if (auto c = j.find("configuration_json"); c != j.end() && c->is_object()) {
      info.configuration = *c;
    }
    auto hnsw = hnsw_of(info.configuration, info.metadata);
    if (!hnsw) return std::unexpected(std::move(hnsw).error().with_context(where));
    info.hnsw = std::move(*hnsw);
    return info;
  });
}

Result<CollectionInfo> parse_collection_body(std::string_view body) {
  CM_ASSIGN_OR_RETURN(json j, parse_json(body, "collection answer"));
  return parse_collection(j);
}

Result<std::vector<CollectionInfo>> parse_collection_list(std::string_view body) {
  CM_ASSIGN_OR_RETURN(json j, parse_json(body, "collection list"));
  if (!j.is_array())
    return wire_protocol_error("collection list is not an array: " + j.dump().substr(0, 300));
  std::vector<CollectionInfo> out;
  out.reserve(j.size());
  for (const auto& c : j) {
    CM_ASSIGN_OR_RETURN(auto info, parse_collection(c));
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::uint64_t> parse_count(std::string_view body) {
  CM_ASSIGN_OR_RETURN(json j, parse_json(body, "count answer"));
  if (!j.is_number_unsigned())
    return wire_protocol_error("count is not a non-negative integer: " + j.dump());
  return j.get<std::uint64_t>();
}

Result<StoreLimits> parse_preflight(std::string_view body) {
  CM_ASSIGN_OR_RETURN(json j, parse_json(body, "pre-flight-checks answer"));
  if (!j.is_object())
    return wire_protocol_error("pre-flight-checks answer is not an object: " + j.dump());
  StoreLimits limits;
  if (auto it = j.find("max_batch_size"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0) {
      return wire_protocol_error("max_batch_size is not a positive integer: " + it->dump());
    }
    limits.max_batch_size = static_cast<std::size_t>(it->get<std::uint64_t>());
  }
  if (auto it = j.find("supports_base64_encoding"); it != j.end() && it->is_boolean()) {
    limits.supports_base64 = it->get<bool>();
  }
  return limits;
}

std::string server_error_message(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto text = [&](const char* key) -> std::string {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) return {};
      return it->is_string() ? it->get<std::string>()
                             : it->dump(-1, ' ', false, json::error_handler_t::replace);
    };
    std::string error = text("error"), message = text("message");
    if (!error.empty() && !message.empty()) return error + ": " + message;
    if (!error.empty() || !message.empty()) return error + message;
    if (std::string detail = text("detail"); !detail.empty()) return detail;  // FastAPI (0.x)
  }
  std::size_t begin = 0, end = body.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(body[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(body[end - 1]))) --end;
  std::string_view trimmed = body.substr(begin, end - begin);
  if (trimmed.size() <= 500) return std::string(trimmed);
  std::size_t cut = 500;
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(trimmed[cut]) & 0xC0) == 0x80) --cut;
  return std::string(trimmed.substr(0, cut)) + "...";
}

}  // namespace cm
