// The JSON documents of a snapshot directory (docs/snapshot-format.md): manifest.json, which seals
// the snapshot and lists every part with its size and hash, and collections/<name>/collection.json,
// which describes one collection from the moment it is created. Parsing never throws: malformed
// documents are kCorruption.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm {

inline constexpr std::string_view kManifestFormat = "chroma-migrate-snapshot";
inline constexpr int kManifestFormatVersion = 2;    // what manifest_to_json writes
inline constexpr int kManifestFormatVersionV1 = 1;  // still read: no uris, no generation fields

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
  // Format 2: how many of record_count are tombstones / marked unrecoverable (RecordMark in
  // snapshot_format.hpp). Both 0 in everything this version writes; verification recounts them.
  std::uint64_t tombstones = 0;
  std::uint64_t unrecoverable = 0;
};

// Format 2: the snapshot a delta generation applies on top of.
struct ManifestBase {
  std::uint64_t generation = 0;  // the base's own generation
  std::string manifest_xxh3_64;  // XXH3-64 of the base's manifest.json bytes, 16 lowercase hex
  bool operator==(const ManifestBase&) const = default;
};

// Format 2: which slice of a sharded export this snapshot holds.
struct ManifestShard {
  std::uint32_t index = 0;  // 0 <= index < count
  std::uint32_t count = 1;
  bool operator==(const ManifestShard&) const = default;
};

struct SnapshotManifest {
  std::string created_at;  // ISO-8601 UTC, e.g. 2024-05-01T12:00:00Z
  std::string description;
  std::vector<ManifestCollection> collections;  // sorted by name
  // Format 2 (absent in format 1, which reads as the defaults). Generation 0 is a full snapshot
  // and has no base; generation N > 0 is a delta (upserts plus tombstones) on top of `base`.
  int format_version = kManifestFormatVersion;  // as read; always written as the current one
  std::uint64_t generation = 0;
  std::optional<ManifestBase> base;
  std::optional<ManifestShard> shard;  // nullopt: the whole source

  // nullptr when the manifest has no collection of that name.
  const ManifestCollection* find(std::string_view name) const;
};

nlohmann::json manifest_to_json(const SnapshotManifest& manifest);
// Checks format, format_version (1 or 2) and every field's type, and the format-2 invariants:
// base present exactly when generation > 0, shard index < count, tombstones only in a delta.
Result<SnapshotManifest> parse_manifest(std::string_view text);

// collection.json: {name, id, metadata, hnsw, configuration, dimension (int or null)}.
nlohmann::json collection_info_to_json(const CollectionInfo& info);
Result<CollectionInfo> parse_collection_info(std::string_view text);

// Pretty-printed JSON for the snapshot's documents. Never throws: strings that are not valid UTF-8
// (which SnapshotStore rejects in metadata before they get here) are written with U+FFFD.
std::string json_text(const nlohmann::json& json);

std::string iso8601_utc_now();

}  // namespace cm
