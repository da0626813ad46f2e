#include "common/persist/persist_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/persist/sqlite_copy.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

std::unexpected<Error> refuse(const fs::path& source, const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, source.string() + ": " + why);
}

std::unexpected<Error> unreadable(const fs::path& source, archive* a) {
  const char* why = archive_error_string(a);
  return make_error(ErrorCode::kCorruption, source.string() + ": cannot be read as a tar archive" +
                                                (why ? std::string(": ") + why : std::string()));
}

// The entry's name as a relative path inside the unpack root, or why it is refused.
Result<fs::path> safe_name(const fs::path& source, const char* raw) {
  const std::string name = raw ? raw : "";
  if (name.empty()) return refuse(source, "holds an entry without a name");
  const fs::path path(name);
  if (path.is_absolute()) {
    return refuse(source, "holds the absolute path '" + name +
                              "'; refused: nothing is unpacked "
                              "outside the scratch directory");
  }
  for (const auto& part : path) {
    if (part == "..") {
      return refuse(source, "holds the path '" + name + "', which climbs out with '..'; refused");
    }
  }
  return path.lexically_normal();
}

Status write_entry_data(const fs::path& source, archive* a, const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, file.string() + ": cannot create: " + std::strerror(errno));
  }
  Status status = ok_status();
  while (status) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int rc = archive_read_data_block(a, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      status = unreadable(source, a);
      break;
    }
    const char* bytes = static_cast<const char*>(block);
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd, bytes + done, size - done, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status =
            make_error(ErrorCode::kIo, file.string() + ": write failed: " + std::strerror(errno));
        break;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return status;
}

// Unpacks every entry of `a` under `root`; returns the folders that hold a chroma.sqlite3.
Result<std::vector<fs::path>> unpack_entries(const fs::path& source, archive* a,
                                             const fs::path& root) {
  std::vector<fs::path> databases;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return unreadable(source, a);
    CM_ASSIGN_OR_RETURN(const fs::path name, safe_name(source, archive_entry_pathname(entry)));
    const fs::path target = root / name;
    std::error_code ec;
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      fs::create_directories(target, ec);
    } else if (type == AE_IFREG && !archive_entry_hardlink(entry)) {
      fs::create_directories(target.parent_path(), ec);
      if (!ec) CM_RETURN_IF_ERROR(write_entry_data(source, a, target));
      if (name.filename() == "chroma.sqlite3") databases.push_back(target.parent_path());
    } else {
      return refuse(source, "holds '" + name.string() +
                                "', which is neither a file nor a directory (a link or a "
                                "device); a persist directory has none, refused");
    }
    if (ec) return make_error(ErrorCode::kIo, target.string() + ": " + ec.message());
  }
  return databases;
}

}  // namespace

bool is_persist_archive(const fs::path& path) {
  const std::string name = path.filename().string();
  for (const char* ending : {".tar", ".tar.gz", ".tgz"}) {
    if (name.size() > std::strlen(ending) && name.ends_with(ending)) return true;
  }
  return false;
}

Result<UnpackedArchive> UnpackedArchive::unpack(const fs::path& source,
                                                const fs::path& scratch_parent) {
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "persist archive " + source.string() + " does not exist or is not a file");
  }
  ArchivePtr a(archive_read_new());
  if (!a) return make_error(ErrorCode::kInternal, "libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), source.c_str(), 1 << 20) != ARCHIVE_OK) {
    return unreadable(source, a.get());
  }
  UnpackedArchive out;
  CM_ASSIGN_OR_RETURN(out.root_, make_private_dir(scratch_parent, "persist-archive"));
  CM_ASSIGN_OR_RETURN(const auto databases, unpack_entries(source, a.get(), out.root_));
  if (databases.empty()) {
    return refuse(source, "holds no Chroma persist directory (no chroma.sqlite3 in any folder)");
  }
  if (databases.size() > 1) {
    return refuse(source, "holds " + std::to_string(databases.size()) +
                              " persist directories (chroma.sqlite3 in " +
                              fs::relative(databases[0], out.root_).string() + " and " +
                              fs::relative(databases[1], out.root_).string() +
                              "); unpack it and give persist:DIR of the one to read");
  }
  out.persist_dir_ = databases.front();
  return out;
}

UnpackedArchive::UnpackedArchive(UnpackedArchive&& other) noexcept
    : root_(std::move(other.root_)), persist_dir_(std::move(other.persist_dir_)) {
  other.root_.clear();
}

UnpackedArchive::~UnpackedArchive() {
  if (root_.empty()) return;
  std::error_code ec;
  fs::remove_all(root_,
                 ec);  // best effort: a leftover is under the scratch parent, never the source
}

}  // namespace cm
