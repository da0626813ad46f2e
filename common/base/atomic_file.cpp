#include "common/base/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace cm {
namespace {

std::atomic<bool> g_crash_before_rename{false};

std::unexpected<Error> io_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return ok_status();
}

}  // namespace

void set_atomic_write_crash_before_rename_for_testing(bool enabled) {
  g_crash_before_rename = enabled;
}

Status fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory", dir);
  return ok_status();
}

Status ensure_directory(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return ok_status();
  // The directories this call creates are the owner's only (0700), whatever the umask: they hold
  // production data. Existing ancestors keep their modes.
  std::vector<std::filesystem::path> created;
  for (auto p = path; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::filesystem::create_directories(path, ec);
  if (ec)
    return make_error(ErrorCode::kIo,
                      "cannot create directory " + path.string() + ": " + ec.message());
  for (const auto& dir : created) {
    if (::chmod(dir.c_str(), 0700) != 0) return io_error("cannot chmod 0700", dir);
  }
  auto parent = path.parent_path();
  return fsync_directory(parent.empty() ? std::filesystem::path(".") : parent);
}

Result<std::optional<std::filesystem::perms>> restrict_to_owner(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto before = fs::status(dir, ec).permissions();
  if (ec) return make_error(ErrorCode::kIo, "cannot stat " + dir.string() + ": " + ec.message());
  if ((before & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none &&
      (before & fs::perms::owner_all) == fs::perms::owner_all)
    return std::optional<fs::perms>();
  if (::chmod(dir.c_str(), 0700) != 0) return io_error("cannot chmod 0700", dir);
  return std::optional<fs::perms>(before);
}

namespace {

std::filesystem::path parent_or_dot(const std::filesystem::path& path) {
  auto dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// The temp name includes the pid and a process-wide counter so concurrent writers never collide.
std::filesystem::path temp_name_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  return parent_or_dot(path) / ("." + path.filename().string() + ".tmp." +
                                std::to_string(::getpid()) + "." + std::to_string(counter++));
}

}  // namespace

Status write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  auto dir = parent_or_dot(path);
  auto tmp = temp_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp);
  auto written = write_all(fd, content, tmp);
  if (written && ::fsync(fd) != 0) written = io_error("cannot fsync", tmp);
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (g_crash_before_rename) {
    return make_error(ErrorCode::kCancelled, "simulated crash before rename of " + path.string());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = io_error("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return err;
  }
  return fsync_directory(dir);
}

Result<AtomicFileWriter> AtomicFileWriter::open(const std::filesystem::path& path) {
  auto tmp = temp_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp);
  return AtomicFileWriter(path, tmp, fd);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_(std::move(other.tmp_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)) {}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFileWriter::flush_buffer() {
  auto status = write_all(fd_, buffer_, tmp_);
  buffer_.clear();
  return status;
}

Status AtomicFileWriter::append(std::string_view data) {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "append after commit to " + path_.string());
  buffer_.append(data);
  if (buffer_.size() >= (1u << 20)) return flush_buffer();
  return ok_status();
}

Status AtomicFileWriter::commit() {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "double commit of " + path_.string());
  CM_RETURN_IF_ERROR(flush_buffer());
  if (::fsync(fd_) != 0) return io_error("cannot fsync", tmp_);
  ::close(std::exchange(fd_, -1));
  if (g_crash_before_rename) {
    ::unlink(tmp_.c_str());
    return make_error(ErrorCode::kCancelled, "simulated crash before rename of " + path_.string());
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    auto err = io_error("cannot rename into place", path_);
    ::unlink(tmp_.c_str());
    return err;
  }
  return fsync_directory(parent_or_dot(path_));
}

Result<std::string> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no such file " + path.string());
    return io_error("cannot open", path);
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return io_error("cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace cm
