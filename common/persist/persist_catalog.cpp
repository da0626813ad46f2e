#include "common/persist/persist_catalog.hpp"

#include <sqlite3.h>

#include <limits>

#include "common/persist/persist_values.hpp"

namespace cm {
namespace {

using nlohmann::json;

std::unexpected<Error> corrupt(const std::string& why) {
  return make_error(ErrorCode::kCorruption, why);
}

// Rows of (key, str, int, float[, bool]) into a Metadata, with Chroma's precedence.
Result<Metadata> read_key_values(SqliteStatement& stmt, bool with_bool) {
  Metadata out;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return out;
    if (auto value = typed_value(stmt, 1, with_bool)) out[std::string(stmt.text(0))] = *value;
  }
}

Result<Metadata> collection_metadata(const SqliteDb& db, const PersistSchema& schema,
                                     const std::string& id) {
  CM_ASSIGN_OR_RETURN(auto stmt,
                      db.prepare(schema.has_collection_bool
                                     ? "SELECT key, str_value, int_value, float_value, bool_value "
                                       "FROM collection_metadata WHERE collection_id = ?1"
                                     : "SELECT key, str_value, int_value, float_value "
                                       "FROM collection_metadata WHERE collection_id = ?1"));
  CM_RETURN_IF_ERROR(stmt.bind(1, id));
  return read_key_values(stmt, schema.has_collection_bool);
}

// The vector segment's legacy `hnsw:*` keys (0.x copied them from the collection's metadata).
Result<Metadata> segment_hnsw_keys(const SqliteDb& db, const PersistSchema& schema,
                                   const std::string& segment) {
  if (!schema.has_segment_metadata || segment.empty()) return Metadata{};
  CM_ASSIGN_OR_RETURN(bool with_bool, db.has_column("segment_metadata", "bool_value"));
  CM_ASSIGN_OR_RETURN(auto stmt,
                      db.prepare(with_bool ? "SELECT key, str_value, int_value, float_value, "
                                             "bool_value FROM segment_metadata WHERE segment_id "
                                             "= ?1 AND key LIKE 'hnsw:%'"
                                           : "SELECT key, str_value, int_value, float_value FROM "
                                             "segment_metadata WHERE segment_id = ?1 AND key "
                                             "LIKE 'hnsw:%'"));
  CM_RETURN_IF_ERROR(stmt.bind(1, segment));
  return read_key_values(stmt, with_bool);
}

Status read_segments(const SqliteDb& db, PersistCollection* c) {
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT id, type FROM segments WHERE collection = ?1"));
  CM_RETURN_IF_ERROR(stmt.bind(1, c->info.id));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    const std::string type(stmt.text(1));
    if (type == kMetadataSegmentType) c->metadata_segment = stmt.text(0);
    if (type == kHnswSegmentType) c->vector_segment = stmt.text(0);
  }
  if (c->metadata_segment.empty()) {
    return corrupt("collection '" + c->info.name + "' (" + c->info.id +
                   ") has no SQLite metadata segment in the segments table");
  }
  return ok_status();
}

Status check_database(const SqliteDb& db, const PersistSchema& schema, const std::string& tenant,
                      const std::string& database) {
  const bool is_default = tenant == "default_tenant" && database == "default_database";
  if (!schema.has_databases) {
    if (is_default) return ok_status();
    return make_error(ErrorCode::kNotFound,
                      "tenant '" + tenant + "' / database '" + database +
                          "' does not exist: this directory predates tenants (Chroma < 0.4.15) "
                          "and holds only default_tenant / default_database");
  }
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT tenant_id, name FROM databases ORDER BY 1, 2"));
  std::string known;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    if (stmt.text(0) == tenant && stmt.text(1) == database) return ok_status();
    known += std::string(known.empty() ? "" : ", ") + std::string(stmt.text(0)) + "/" +
             std::string(stmt.text(1));
  }
  return make_error(ErrorCode::kNotFound, "tenant '" + tenant + "' / database '" + database +
                                              "' does not exist (the directory holds: " +
                                              (known.empty() ? "none" : known) + ")");
}

}  // namespace

Result<PersistSchema> detect_schema(const SqliteDb& db, const std::string& label) {
  for (const char* table : {"collections", "segments", "embeddings", "embedding_metadata",
                            "embeddings_queue", "max_seq_id", "collection_metadata"}) {
    CM_ASSIGN_OR_RETURN(bool present, db.has_table(table));
    if (!present) {
      return make_error(ErrorCode::kInvalidArgument,
                        label +
                            " is not a Chroma persist directory (0.4 or later): "
                            "chroma.sqlite3 has no '" +
                            table + "' table");
    }
  }
  PersistSchema s;
  CM_ASSIGN_OR_RETURN(s.has_databases, db.has_table("databases"));
  CM_ASSIGN_OR_RETURN(s.has_config_json, db.has_column("collections", "config_json_str"));
  CM_ASSIGN_OR_RETURN(s.has_metadata_bool, db.has_column("embedding_metadata", "bool_value"));
  CM_ASSIGN_OR_RETURN(s.has_collection_bool, db.has_column("collection_metadata", "bool_value"));
  CM_ASSIGN_OR_RETURN(s.has_segment_metadata, db.has_table("segment_metadata"));
  return s;
}

Result<std::vector<PersistCollection>> read_collections(const SqliteDb& db,
                                                        const PersistSchema& schema,
                                                        const std::string& tenant,
                                                        const std::string& database) {
  CM_RETURN_IF_ERROR(check_database(db, schema, tenant, database));
  const std::string config = schema.has_config_json ? "c.config_json_str" : "NULL";
  const std::string sql =
      schema.has_databases
          ? "SELECT c.id, c.name, c.dimension, " + config +
                " FROM collections c JOIN databases d ON d.id = c.database_id "
                "WHERE d.tenant_id = ?1 AND d.name = ?2 ORDER BY c.name"
          : "SELECT c.id, c.name, c.dimension, " + config + " FROM collections c ORDER BY c.name";
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare(sql));
  if (schema.has_databases) {
    CM_RETURN_IF_ERROR(stmt.bind(1, tenant));
    CM_RETURN_IF_ERROR(stmt.bind(2, database));
  }
  std::vector<PersistCollection> out;
  std::vector<std::string> configs;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    PersistCollection c;
    c.info.id = stmt.text(0);
    c.info.name = stmt.text(1);
    if (!stmt.is_null(2)) {
      const std::int64_t dim = stmt.int64(2);
      if (dim <= 0 || dim > std::numeric_limits<int>::max()) {
        return corrupt("collection '" + c.info.name + "' has the dimension " + std::to_string(dim));
      }
      c.info.dimension = static_cast<int>(dim);
    }
    configs.emplace_back(stmt.text(3));
    out.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    PersistCollection& c = out[i];
    CM_ASSIGN_OR_RETURN(c.info.metadata, collection_metadata(db, schema, c.info.id));
    CM_RETURN_IF_ERROR(read_segments(db, &c));
    CM_ASSIGN_OR_RETURN(Metadata legacy, segment_hnsw_keys(db, schema, c.vector_segment));
    for (const auto& [key, value] : c.info.metadata) {
      if (key.starts_with("hnsw:") && !legacy.contains(key)) legacy[key] = value;
    }
    auto applied = apply_configuration(configs[i], legacy, &c.info);
    if (!applied) {
      return std::unexpected(
          std::move(applied).error().with_context("collection '" + c.info.name + "'"));
    }
  }
  return out;
}

Result<std::optional<std::int64_t>> read_max_seq_id(const SqliteDb& db,
                                                    const std::string& segment) {
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT seq_id FROM max_seq_id WHERE segment_id = ?1"));
  CM_RETURN_IF_ERROR(stmt.bind(1, segment));
  CM_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row || stmt.is_null(0)) return std::optional<std::int64_t>{};
  if (stmt.type(0) == SQLITE_INTEGER) return std::optional<std::int64_t>(stmt.int64(0));
  const std::string_view blob = stmt.blob(0);
  if (stmt.type(0) != SQLITE_BLOB || blob.size() != 8) {
    return corrupt("max_seq_id of segment " + segment +
                   " is neither an integer nor an 8-byte big-endian blob");
  }
  std::uint64_t value = 0;
  for (char byte : blob) value = (value << 8) | static_cast<unsigned char>(byte);
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return corrupt("max_seq_id of segment " + segment + " is out of range");
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(value));
}

}  // namespace cm
