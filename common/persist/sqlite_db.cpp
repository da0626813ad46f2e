#include "common/persist/sqlite_db.hpp"

#include <sqlite3.h>

#include <utility>

namespace cm {
namespace {

Error sqlite_error(int rc, const std::string& context, const char* detail) {
  const int primary = rc & 0xff;
  const ErrorCode code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB
                             ? ErrorCode::kCorruption
                             : ErrorCode::kIo;
  return Error{code, context + ": " + (detail ? detail : sqlite3_errstr(rc)), 0};
}

}  // namespace

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), context_(std::move(other.context_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    context_ = std::move(other.context_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

Error SqliteStatement::error(int rc) const {
  return sqlite_error(rc, context_, sqlite3_errmsg(sqlite3_db_handle(stmt_)));
}

Status SqliteStatement::bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return std::unexpected(error(rc));
  return ok_status();
}

Status SqliteStatement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return std::unexpected(error(rc));
  return ok_status();
}

Result<bool> SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(error(rc));
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool SqliteStatement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t SqliteStatement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double SqliteStatement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string_view SqliteStatement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view{};
}

std::string_view SqliteStatement::blob(int column) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view{};
}

int SqliteStatement::type(int column) const {
  return sqlite3_column_type(stmt_, column);
}

Result<SqliteDb> SqliteDb::open(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(rc, file.string(), db ? sqlite3_errmsg(db) : nullptr);
    sqlite3_close(db);
    return std::unexpected(std::move(e));
  }
  sqlite3_extended_result_codes(db, 1);
  SqliteDb out(db, file);
  // Reading a database that is not one fails only at the first statement: probe it now.
  CM_RETURN_IF_ERROR(out.scalar("SELECT count(*) FROM sqlite_master"));
  return out;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      file_(std::move(other.file_)),
      cache_(std::move(other.cache_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    cache_.clear();
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    file_ = std::move(other.file_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // statements are finalised before the connection closes
  sqlite3_close(db_);
}

Result<SqliteStatement*> SqliteDb::cached(const std::string& sql) const {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    CM_ASSIGN_OR_RETURN(auto stmt, prepare(sql));
    it = cache_.emplace(sql, std::make_unique<SqliteStatement>(std::move(stmt))).first;
  }
  it->second->reset();
  return it->second.get();
}

Result<SqliteStatement> SqliteDb::prepare(std::string_view sql) const {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  std::string context = file_.string() + " (" + std::string(sql.substr(0, 80)) + ")";
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(rc, context, sqlite3_errmsg(db_)));
  return SqliteStatement(stmt, std::move(context));
}

Result<bool> SqliteDb::has_table(const std::string& table) const {
  CM_ASSIGN_OR_RETURN(auto stmt, prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', "
                                         "'view') AND name = ?1"));
  CM_RETURN_IF_ERROR(stmt.bind(1, table));
  return stmt.step();
}

Result<bool> SqliteDb::has_column(const std::string& table, const std::string& column) const {
  CM_ASSIGN_OR_RETURN(auto stmt, prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"));
  CM_RETURN_IF_ERROR(stmt.bind(1, table));
  CM_RETURN_IF_ERROR(stmt.bind(2, column));
  return stmt.step();
}

Result<std::optional<std::int64_t>> SqliteDb::scalar(std::string_view sql) const {
  CM_ASSIGN_OR_RETURN(auto stmt, prepare(sql));
  CM_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row || stmt.is_null(0)) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>(stmt.int64(0));
}

}  // namespace cm
