#include "common/persist/open_writers.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

namespace cm {
namespace {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  std::filesystem::path path;
};

std::optional<pid_t> pid_of(const std::string& name) {
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return pid;
}

// The open flags of a descriptor, from the "flags:" line of /proc/<pid>/fdinfo/<fd> (octal).
std::optional<int> open_flags(const std::filesystem::path& fdinfo) {
  std::ifstream in(fdinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags:", 0) != 0) continue;
    std::istringstream value(line.substr(6));
    int flags = 0;
    if (value >> std::oct >> flags) return flags;
  }
  return std::nullopt;
}

std::string command_of(const std::filesystem::path& proc) {
  std::ifstream in(proc / "cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  return raw;
}

// The watched file that descriptor `fd_link` refers to, if any. stat() follows the link to the
// open file itself, whatever its path looks like in the holder's mount namespace.
const FileId* watched(const std::filesystem::path& fd_link, const std::vector<FileId>& ids) {
  struct stat st {};
  if (::stat(fd_link.c_str(), &st) != 0) return nullptr;
  for (const auto& id : ids) {
    if (id.dev == st.st_dev && id.ino == st.st_ino) return &id;
  }
  return nullptr;
}

void scan_process(pid_t pid, const std::vector<FileId>& ids, std::vector<OpenWriter>& out) {
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  // increment(ec), not a range-for: a process that exits meanwhile must not throw.
  for (std::filesystem::directory_iterator it(proc / "fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    const FileId* id = watched(it->path(), ids);
    if (id == nullptr) continue;
    const auto flags = open_flags(proc / "fdinfo" / it->path().filename());
    if (!flags || (*flags & O_ACCMODE) == O_RDONLY) continue;
    out.push_back({pid, command_of(proc), id->path});
    return;  // one line per process is enough
  }
}

}  // namespace

std::vector<OpenWriter> find_open_writers(const std::vector<std::filesystem::path>& files) {
  std::vector<FileId> ids;
  for (const auto& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0) ids.push_back({st.st_dev, st.st_ino, file});
  }
  std::vector<OpenWriter> out;
  if (ids.empty()) return out;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto pid = pid_of(it->path().filename().string());
    if (!pid || *pid == self) continue;
    scan_process(*pid, ids, out);
  }
  std::sort(out.begin(), out.end(),
            [](const OpenWriter& a, const OpenWriter& b) { return a.pid < b.pid; });
  return out;
}

}  // namespace cm
