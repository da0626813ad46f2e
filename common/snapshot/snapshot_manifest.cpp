#include "common/snapshot/snapshot_manifest.hpp"

#include <ctime>
#include <limits>
#include <stdexcept>

#include "common/store/canonical.hpp"

namespace cm {
namespace {

using nlohmann::json;

// Collection fields shared by collection.json and the manifest's collection entries.
void put_info(const CollectionInfo& info, json* out) {
  (*out)["name"] = info.name;
  (*out)["id"] = info.id;
  (*out)["metadata"] = metadata_to_json(info.metadata);
  (*out)["hnsw"] = hnsw_to_json(info.hnsw);
  (*out)["configuration"] = info.configuration;
  (*out)["dimension"] = info.dimension ? json(*info.dimension) : json(nullptr);
}

const json& array_at(const json& j, const char* key) {
  const json& a = j.at(key);
  if (!a.is_array()) throw std::invalid_argument(std::string(key) + " is not an array");
  return a;
}

// Throws nlohmann exceptions on type errors; callers convert them.
CollectionInfo get_info(const json& j) {
  CollectionInfo info;
  info.name = j.at("name").get<std::string>();
  info.id = j.at("id").get<std::string>();
  std::string why;
  auto metadata = metadata_from_json(j.at("metadata"), &why);
  if (!metadata) throw std::invalid_argument("collection metadata: " + why);
  info.metadata = std::move(*metadata);
  const json& hnsw = j.at("hnsw");
  if (!hnsw.is_object()) throw std::invalid_argument("hnsw is not an object");
  info.hnsw = hnsw_from_json(hnsw);
  info.configuration = j.at("configuration");
  const json& dim = j.at("dimension");
  if (!dim.is_null()) {
    if (!dim.is_number_integer() || dim.get<std::int64_t>() <= 0 ||
        dim.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      throw std::invalid_argument("dimension must be a positive integer or null");
    }
    info.dimension = dim.get<int>();
  }
  return info;
}

// Parses `text` and runs `fn` (which returns a Result) on the object, turning every exception into
// kCorruption.
template <typename Fn>
auto parse_guarded(std::string_view what, std::string_view text, Fn&& fn)
    -> decltype(fn(std::declval<const json&>())) {
  try {
    auto j = json::parse(text);
    if (!j.is_object())
      return make_error(ErrorCode::kCorruption, std::string(what) + " is not a JSON object");
    return fn(j);
  } catch (const std::exception& e) {
    // nlohmann::json::exception (syntax, missing key, wrong type) and our own invalid_argument.
    return make_error(ErrorCode::kCorruption, std::string(what) + ": " + e.what());
  }
}

}  // namespace

const ManifestCollection* SnapshotManifest::find(std::string_view name) const {
  for (const auto& c : collections) {
    if (c.info.name == name) return &c;
  }
  return nullptr;
}

json manifest_to_json(const SnapshotManifest& manifest) {
  json collections = json::array();
  for (const auto& c : manifest.collections) {
    json entry = json::object();
    put_info(c.info, &entry);
    entry["record_count"] = c.record_count;
    entry["content_digest"] = c.content_digest;
    json parts = json::array();
    for (const auto& p : c.parts) {
      parts.push_back(
          {{"file", p.file}, {"records", p.records}, {"bytes", p.bytes}, {"xxh3_64", p.xxh3_64}});
    }
    entry["parts"] = std::move(parts);
    entry["tombstones"] = c.tombstones;
    entry["unrecoverable"] = c.unrecoverable;
    collections.push_back(std::move(entry));
  }
  json base = nullptr;
  if (manifest.base) {
    base = {{"generation", manifest.base->generation},
            {"manifest_xxh3_64", manifest.base->manifest_xxh3_64}};
  }
  json shard = nullptr;
  if (manifest.shard) shard = {{"index", manifest.shard->index}, {"count", manifest.shard->count}};
  return {{"format", kManifestFormat},         {"format_version", kManifestFormatVersion},
          {"created_at", manifest.created_at}, {"description", manifest.description},
          {"generation", manifest.generation}, {"base", std::move(base)},
          {"shard", std::move(shard)},         {"collections", std::move(collections)}};
}

Result<SnapshotManifest> parse_manifest(std::string_view text) {
  return parse_guarded("manifest.json", text, [](const json& j) -> Result<SnapshotManifest> {
    if (j.at("format").get<std::string>() != kManifestFormat) {
      return make_error(ErrorCode::kCorruption,
                        "manifest.json: format is not \"" + std::string(kManifestFormat) + "\"");
    }
    const json& version = j.at("format_version");
    if (!version.is_number_integer() || (version.get<int>() != kManifestFormatVersion &&
                                         version.get<int>() != kManifestFormatVersionV1)) {
      return make_error(ErrorCode::kCorruption,
                        "manifest.json: unsupported format_version " + version.dump());
    }
    SnapshotManifest m;
    m.format_version = version.get<int>();
    const bool v2 = m.format_version >= 2;
    auto bad = [](const std::string& what) {
      return make_error(ErrorCode::kCorruption, "manifest.json: " + what);
    };
    if (v2) {  // format 2 writes every field; a missing one is corruption, not a default
      m.generation = j.at("generation").get<std::uint64_t>();
      if (const json& b = j.at("base"); !b.is_null()) {
        ManifestBase base{b.at("generation").get<std::uint64_t>(),
                          b.at("manifest_xxh3_64").get<std::string>()};
        if (!parse_hex64(base.manifest_xxh3_64) ||
            base.manifest_xxh3_64 != hex64(*parse_hex64(base.manifest_xxh3_64))) {
          return bad("base.manifest_xxh3_64 is not 16 lowercase hex chars");
        }
        m.base = std::move(base);
      }
      if ((m.generation > 0) != m.base.has_value()) {
        return bad(m.generation > 0 ? "generation " + std::to_string(m.generation) + " has no base"
                                    : std::string("generation 0 (a full snapshot) has a base"));
      }
      if (m.base && m.base->generation >= m.generation) {
        return bad("base.generation " + std::to_string(m.base->generation) +
                   " is not below generation " + std::to_string(m.generation));
      }
      if (const json& sh = j.at("shard"); !sh.is_null()) {
        ManifestShard shard{sh.at("index").get<std::uint32_t>(),
                            sh.at("count").get<std::uint32_t>()};
        if (shard.count == 0 || shard.index >= shard.count) {
          return bad("shard index " + std::to_string(shard.index) + " is not below count " +
                     std::to_string(shard.count));
        }
        m.shard = shard;
      }
    }
    m.created_at = j.at("created_at").get<std::string>();
    m.description = j.at("description").get<std::string>();
    for (const auto& entry : array_at(j, "collections")) {
      ManifestCollection c;
      c.info = get_info(entry);
      c.record_count = entry.at("record_count").get<std::uint64_t>();
      c.content_digest = entry.at("content_digest").get<std::string>();
      if (v2) {
        c.tombstones = entry.at("tombstones").get<std::uint64_t>();
        c.unrecoverable = entry.at("unrecoverable").get<std::uint64_t>();
        if (c.tombstones + c.unrecoverable > c.record_count) {
          return bad(c.info.name + ": more tombstones and unrecoverable records than records");
        }
        if (c.tombstones > 0 && m.generation == 0) {
          return bad(c.info.name + ": tombstones in a full snapshot (generation 0)");
        }
      }
      for (const auto& p : array_at(entry, "parts")) {
        c.parts.push_back(
            ManifestPart{p.at("file").get<std::string>(), p.at("records").get<std::uint64_t>(),
                         p.at("bytes").get<std::uint64_t>(), p.at("xxh3_64").get<std::string>()});
      }
      m.collections.push_back(std::move(c));
    }
    return m;
  });
}

json collection_info_to_json(const CollectionInfo& info) {
  json out = json::object();
  put_info(info, &out);
  return out;
}

Result<CollectionInfo> parse_collection_info(std::string_view text) {
  return parse_guarded("collection.json", text,
                       [](const json& j) -> Result<CollectionInfo> { return get_info(j); });
}

std::string json_text(const nlohmann::json& json) {
  return json.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string iso8601_utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cm
