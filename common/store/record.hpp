// The data model shared by every store: a chunk (Record) and a collection's description.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace cm {

// Chroma metadata values. The variant keeps int (64-bit), float (double) and bool apart: a
// migration must never turn 3 into 3.0 or true into 1.
using MetaValue = std::variant<std::string, std::int64_t, double, bool>;
// The four metadata value types, in MetaValue's order, named as contracts and mappings spell them.
enum class ValueType { kString, kInt, kFloat, kBool };
const char* value_type_name(ValueType type);  // "string" | "int" | "float" | "bool"
std::optional<ValueType> value_type_from_name(std::string_view name);
inline ValueType value_type_of(const MetaValue& value) {
  return static_cast<ValueType>(value.index());
}
inline const char* value_type_name(const MetaValue& value) {
  return value_type_name(value_type_of(value));
}

// Ordered by key so canonical encodings (digests, snapshots) do not depend on insertion order.
// Chroma reads `{}` back as null, so an empty map and "no metadata" are the same thing.
using Metadata = std::map<std::string, MetaValue>;

struct Record {
  std::string id;
  std::vector<float> embedding;
  std::optional<std::string> document;  // nullopt = null document (distinct from "")
  Metadata metadata;
  // Chroma's fifth record field (`uris` on add/upsert, `include: ["uris"]` on get). nullopt = null
  // uri (distinct from ""), which is what a record written without uris reads back as.
  std::optional<std::string> uri{};  // defaulted: records built without a uri stay valid

  bool operator==(const Record&) const = default;
};

// HNSW index parameters of a collection (Chroma's configuration_json.hnsw).
struct HnswConfig {
  std::string space = "l2";  // l2 | cosine | ip
  int ef_construction = 100;
  int ef_search = 100;
  int max_neighbors = 16;
  double resize_factor = 1.2;
  int sync_threshold = 1000;

  bool operator==(const HnswConfig&) const = default;
};

struct CollectionInfo {
  std::string name;
  std::string id;  // server-side id (uuid); empty for stores that have none
  Metadata metadata;
  HnswConfig hnsw;
  std::optional<int> dimension;  // unknown until the first record lands
  // The whole configuration object as the server reported it, kept verbatim for the manifest.
  nlohmann::json configuration = nlohmann::json::object();
};

// What a caller asks for when creating a collection.
struct CollectionSpec {
  std::string name;
  Metadata metadata;
  HnswConfig hnsw;
  // The source's full configuration object, kept verbatim by stores that can (snapshots). Servers
  // are created from `hnsw`, which is the part Chroma lets a client set.
  nlohmann::json configuration = nlohmann::json::object();
};

nlohmann::json metadata_to_json(const Metadata& metadata);
// Fails (returns nullopt and sets `why`) on nested objects, arrays or null values.
std::optional<Metadata> metadata_from_json(const nlohmann::json& json, std::string* why);
nlohmann::json hnsw_to_json(const HnswConfig& hnsw);
HnswConfig hnsw_from_json(const nlohmann::json& json);

// Chroma's collection-name rule: 3-512 chars of [a-zA-Z0-9._-], alphanumeric at both ends, no "..",
// not an IPv4 address. Returns an explanation when invalid.
std::optional<std::string> invalid_collection_name_reason(const std::string& name);

}  // namespace cm
