// A minimal RAII wrapper of the SQLite C API for reading Chroma's chroma.sqlite3 (always a private
// copy: common/persist/sqlite_copy.hpp). Errors are values: SQLITE_CORRUPT / SQLITE_NOTADB become
// kCorruption, everything else kIo, each naming the database file and the statement.
//
// Not thread-safe: one connection serves one thread at a time (PersistStore holds a mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cm {

class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&&) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) noexcept;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQL's ?1.
  Status bind(int index, std::string_view text);
  Status bind(int index, std::int64_t value);
  // true: a row is available through the column accessors; false: done.
  Result<bool> step();
  // Ready to run again with new bindings.
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  // NULL reads as "" (check is_null first where NULL matters).
  std::string_view text(int column) const;
  std::string_view blob(int column) const;
  // SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int type(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3_stmt* stmt, std::string context) : stmt_(stmt), context_(context) {}
  Error error(int rc) const;
  sqlite3_stmt* stmt_;
  std::string context_;  // database file and SQL, for error messages
};

class SqliteDb {
 public:
  // Opens an existing database file for reading and writing: writing only so that SQLite can
  // recover the copy (replay its WAL into it, roll back a hot journal); nothing here writes rows.
  static Result<SqliteDb> open(const std::filesystem::path& file);
  SqliteDb(SqliteDb&&) noexcept;
  SqliteDb& operator=(SqliteDb&&) noexcept;
  ~SqliteDb();

  Result<SqliteStatement> prepare(std::string_view sql) const;
  // A statement prepared once per connection and reset for each use: for the point lookups
  // done once per record. Valid until the next cached() call with the same SQL.
  Result<SqliteStatement*> cached(const std::string& sql) const;
  Result<bool> has_table(const std::string& table) const;
  Result<bool> has_column(const std::string& table, const std::string& column) const;
  // The first column of the first row of `sql` as an integer (nullopt: no row or NULL).
  Result<std::optional<std::int64_t>> scalar(std::string_view sql) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  SqliteDb(sqlite3* db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}
  sqlite3* db_;
  std::filesystem::path file_;
  // Finalised before the connection closes (~SqliteDb).
  mutable std::map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace cm
