// What chroma.sqlite3 says about a persist directory's tenants, databases and collections: the
// schema generation (which tables and columns exist, 0.4.0 to 1.x), each collection's name, id,
// dimension, metadata and configuration, and its two segments (the SQLite metadata segment and
// the HNSW vector segment, whose id names its folder).
//
// Configuration, in the shape Chroma 1.x's HTTP API reports (`configuration_json`), so a
// collection read offline compares equal to the same collection read from a server:
//   1.x config_json_str {"vector_index": {"hnsw"|"spann": {...}}, "embedding_function": ...}
//     -> {"hnsw": ..., "spann": ..., "embedding_function": ...}
//   0.5.4-0.6 {"hnsw_configuration": {space, ef_construction, ef_search, M, ...}} and older
//   directories without config_json_str -> {"hnsw": <the parameters in effect>, "spann": null,
//     "embedding_function": null}
// The parameters in effect follow Chroma 1.x: legacy `hnsw:*` metadata keys (collection metadata,
// then the vector segment's metadata) override a configuration that is all defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/persist/sqlite_db.hpp"
#include "common/store/record.hpp"

namespace cm {

inline constexpr const char* kMetadataSegmentType = "urn:chroma:segment/metadata/sqlite";
inline constexpr const char* kHnswSegmentType = "urn:chroma:segment/vector/hnsw-local-persisted";

// Which generation of Chroma's schema the file has (sysdb / metadb migrations).
struct PersistSchema {
  bool has_databases = false;         // tenants and databases (0.4.15+)
  bool has_config_json = false;       // collections.config_json_str (0.5.4+)
  bool has_metadata_bool = false;     // embedding_metadata.bool_value (0.4.4+)
  bool has_collection_bool = false;   // collection_metadata.bool_value
  bool has_segment_metadata = false;  // segment_metadata
};

struct PersistCollection {
  CollectionInfo info;
  std::string metadata_segment;  // segments.id of the SQLite metadata segment
  std::string vector_segment;    // segments.id of the HNSW segment: the folder's name
};

// kInvalidArgument naming `label` (the directory) when the file lacks Chroma's core tables.
Result<PersistSchema> detect_schema(const SqliteDb& db, const std::string& label);

// The collections of one tenant and database, by name. kNotFound when that database does not
// exist (the message lists the ones that do). Directories from before tenants (0.4.0-0.4.14)
// hold only default_tenant/default_database.
Result<std::vector<PersistCollection>> read_collections(const SqliteDb& db,
                                                        const PersistSchema& schema,
                                                        const std::string& tenant,
                                                        const std::string& database);

// A segment's position in embeddings_queue (max_seq_id table: an integer since 1.0, an 8-byte
// big-endian blob before); nullopt when the segment has no row.
Result<std::optional<std::int64_t>> read_max_seq_id(const SqliteDb& db, const std::string& segment);

// The configuration object and effective HNSW parameters from config_json_str (may be empty)
// and the legacy `hnsw:*` keys. kCorruption when the JSON or a parameter's type is invalid.
Status apply_configuration(const std::string& config_json_str, const Metadata& legacy_keys,
                           CollectionInfo* info);

}  // namespace cm
