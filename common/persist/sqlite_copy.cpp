#include "common/persist/sqlite_copy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "common/persist/open_writers.hpp"

namespace cm {
namespace {

constexpr const char* kDatabase = "chroma.sqlite3";
constexpr std::array<const char*, 3> kCompanions = {"-wal", "-journal", "-shm"};
constexpr int kAttempts = 3;

// What a file looked like: a change between two looks means someone wrote it meanwhile.
struct Look {
  bool exists = false;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const Look&) const = default;
};

Look look(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  return {true, static_cast<std::int64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::vector<Look> look_all(const std::filesystem::path& db) {
  std::vector<Look> out{look(db)};
  for (const char* suffix : kCompanions) out.push_back(look(db.string() + suffix));
  return out;
}

// The journal mode from the header; the file must start with SQLite's magic string.
Result<SqliteJournal> journal_of(const std::filesystem::path& db) {
  std::ifstream in(db, std::ios::binary);
  std::array<char, 100> header{};
  if (!in.read(header.data(), header.size())) {
    return make_error(
        ErrorCode::kCorruption,
        db.string() + ": is not a SQLite 3 database (shorter than its 100-byte header)");
  }
  if (std::memcmp(header.data(), "SQLite format 3\0", 16) != 0) {
    return make_error(ErrorCode::kCorruption,
                      db.string() + ": is not a SQLite 3 database (no 'SQLite format 3' header)");
  }
  const int write_version = static_cast<unsigned char>(header[18]);
  const int read_version = static_cast<unsigned char>(header[19]);
  if (write_version == 1 && read_version == 1) return SqliteJournal::kRollback;
  if (write_version == 2 && read_version == 2) return SqliteJournal::kWal;
  return make_error(ErrorCode::kCorruption, db.string() + ": unknown file format versions " +
                                                std::to_string(write_version) + "/" +
                                                std::to_string(read_version) +
                                                " in its header (expected 1/1 or 2/2)");
}

Status copy_one(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec == std::errc::no_such_file_or_directory) return ok_status();  // a companion went away
  if (ec) {
    return make_error(ErrorCode::kIo,
                      "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  }
  return ok_status();
}

// A Chroma server still running on the directory: refused before anything is copied, since its
// files change under the reader (the HNSW segments are not even flushed in step with SQLite).
Status refuse_running_server(const std::filesystem::path& persist_dir,
                             const std::filesystem::path& db) {
  std::vector<std::filesystem::path> files{db};
  for (const char* suffix : kCompanions) files.emplace_back(db.string() + suffix);
  const auto writers = find_open_writers(files);
  if (writers.empty()) return ok_status();
  const auto& w = writers.front();
  return make_error(
      ErrorCode::kAlreadyExists,
      w.file.string() + " is open for writing by process " + std::to_string(w.pid) +
          (w.command.empty() ? "" : " (" + w.command + ")") +
          (writers.size() > 1 ? " and " + std::to_string(writers.size() - 1) + " other(s)" : "") +
          ": a Chroma server is still running on " + persist_dir.string() +
          ". Stop it and run again, or read it through the server (--source http://HOST:PORT); "
          "the files of a running server change while they are read");
}

}  // namespace

Result<std::filesystem::path> make_private_dir(const std::filesystem::path& parent,
                                               const std::string& prefix) {
  std::error_code ec;
  std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : parent;
  if (ec) return make_error(ErrorCode::kIo, "no temporary directory: " + ec.message());
  if (!parent.empty()) {
    std::filesystem::create_directories(base, ec);
    if (ec)
      return make_error(ErrorCode::kIo, "cannot create " + base.string() + ": " + ec.message());
    ::chmod(base.c_str(), 0700);
  }
  std::string templ = (base / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {  // mkdtemp makes it 0700
    return make_error(ErrorCode::kIo, "cannot create a directory under " + base.string() + ": " +
                                          std::strerror(errno));
  }
  return std::filesystem::path(templ);
}

Result<SqliteCopy> SqliteCopy::make(const std::filesystem::path& persist_dir,
                                    const std::filesystem::path& scratch_parent) {
  std::error_code ec;
  if (!std::filesystem::is_directory(persist_dir, ec)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "persist directory " + persist_dir.string() +
            (std::filesystem::exists(persist_dir, ec) ? " is not a directory" : " does not exist"));
  }
  const auto db = persist_dir / kDatabase;
  if (!std::filesystem::is_regular_file(db, ec)) {
    return make_error(ErrorCode::kInvalidArgument, persist_dir.string() +
                                                       " is not a Chroma persist directory: it "
                                                       "has no chroma.sqlite3");
  }
  if (::access(db.c_str(), R_OK) != 0) {
    return make_error(ErrorCode::kIo, db.string() + ": cannot read: " + std::strerror(errno));
  }
  CM_RETURN_IF_ERROR(refuse_running_server(persist_dir, db));
  SqliteCopy copy;
  CM_ASSIGN_OR_RETURN(copy.dir_, make_private_dir(scratch_parent, "persist-sqlite"));
  copy.database_ = copy.dir_ / kDatabase;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const auto before = look_all(db);
    CM_ASSIGN_OR_RETURN(copy.journal_, journal_of(db));
    for (const char* suffix : kCompanions) {
      std::filesystem::remove(copy.database_.string() + suffix, ec);
    }
    CM_RETURN_IF_ERROR(copy_one(db, copy.database_));
    for (const char* suffix : kCompanions) {
      CM_RETURN_IF_ERROR(copy_one(db.string() + suffix, copy.database_.string() + suffix));
    }
    if (look_all(db) == before) return copy;
  }
  return make_error(ErrorCode::kVerifyFailed,
                    db.string() + " changed while it was being copied, " +
                        std::to_string(kAttempts) + " times: is a Chroma server still running on " +
                        persist_dir.string() +
                        "? Stop it (or copy the directory while it is stopped) and try again");
}

SqliteCopy::SqliteCopy(SqliteCopy&& other) noexcept
    : dir_(std::exchange(other.dir_, {})),
      database_(std::move(other.database_)),
      journal_(other.journal_) {}

SqliteCopy::~SqliteCopy() {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace cm
