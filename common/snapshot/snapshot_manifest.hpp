// The JSON documents of a snapshot directory (docs/snapshot-format.md): manifest.json, which seals
// the snapshot and lists every part with its size and hash, and collections/<name>/collection.json,
// which describes one collection from the moment it is created. Parsing never throws: malformed
// documents are kCorruption.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm {

inline constexpr std::string_view kManifestFormat = "chroma-migrate-snapshot";
inline constexpr int kManifestFormatVersion = 1;

struct ManifestPart {
  std::string file;  // "part-<16 hex>.rec", relative to the collection's folder
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // file size
  std::string xxh3_64;      // 16 lowercase hex chars: XXH3-64 of the whole file

  bool operator==(const ManifestPart&) const = default;
};

struct ManifestCollection {
  CollectionInfo info;  // name, id, metadata, hnsw, configuration (verbatim), dimension
  std::uint64_t record_count = 0;
  std::string content_digest;       // content_digest() of the collection's record digests
  std::vector<ManifestPart> parts;  // sorted by file name; the order list_ids/read_part use
};

struct SnapshotManifest {
  std::string created_at;  // ISO-8601 UTC, e.g. 2024-05-01T12:00:00Z
  std::string description;
  std::vector<ManifestCollection> collections;  // sorted by name

  // nullptr when the manifest has no collection of that name.
  const ManifestCollection* find(std::string_view name) const;
};

nlohmann::json manifest_to_json(const SnapshotManifest& manifest);
// Checks format, format_version and every field's type.
Result<SnapshotManifest> parse_manifest(std::string_view text);

// collection.json: {name, id, metadata, hnsw, configuration, dimension (int or null)}.
nlohmann::json collection_info_to_json(const CollectionInfo& info);
Result<CollectionInfo> parse_collection_info(std::string_view text);

// Pretty-printed JSON for the snapshot's documents. Never throws: strings that are not valid UTF-8
// (which SnapshotStore rejects in metadata before they get here) are written with U+FFFD.
std::string json_text(const nlohmann::json& json);

std::string iso8601_utc_now();

}  // namespace cm
