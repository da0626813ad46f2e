#include "common/run/work_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/run/work_dir.hpp"

namespace cm {

Result<std::unique_ptr<WorkDirLock>> WorkDirLock::acquire(const std::filesystem::path& work_dir,
                                                          const std::string& program) {
  const auto path = WorkDir(work_dir).lock_file();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot open the work-dir lock " + path.string() + ": " +
                                          std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[256] = {};
    const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return make_error(ErrorCode::kIo, "cannot lock " + path.string() + ": " + std::strerror(err));
    }
    std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    return make_error(ErrorCode::kAlreadyExists,
                      "work dir " + work_dir.string() + " is in use by " + who +
                          "; wait for it to finish (or stop it), then run this again");
  }
  // Who holds it, for the message another process prints. Best effort: the lock is what counts.
  const std::string me = fmt::format("{} (pid {})\n", program, ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd, me.data(), me.size(), 0);
  }
  return std::unique_ptr<WorkDirLock>(new WorkDirLock(fd));
}

WorkDirLock::~WorkDirLock() {
  ::close(fd_);
}  // closing the descriptor releases the flock

}  // namespace cm
