#include "common/snapshot/snapshot_layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "common/base/atomic_file.hpp"
#include "common/store/canonical.hpp"

namespace cm::snapshot {
namespace fs = std::filesystem;

fs::path manifest_path(const fs::path& dir) {
  return dir / "manifest.json";
}
fs::path collections_dir(const fs::path& dir) {
  return dir / "collections";
}
fs::path collection_dir(const fs::path& dir, const std::string& name) {
  return collections_dir(dir) / name;
}
fs::path collection_json_path(const fs::path& dir, const std::string& name) {
  return collection_dir(dir, name) / "collection.json";
}

std::optional<std::string> unsafe_collection_name_reason(const std::string& name) {
  if (name.empty()) return "collection name is empty";
  if (name.size() > 255) return "collection name is longer than 255 bytes";
  if (name.front() == '.') return "collection name starts with '.'";
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return "collection name contains '/' or NUL";
  }
  return std::nullopt;
}

std::string part_file_name(std::span<const Record> records) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  for (const auto& r : records) {
    const std::uint64_t size = r.id.size();
    XXH3_64bits_update(&state, &size, sizeof size);
    XXH3_64bits_update(&state, r.id.data(), r.id.size());
  }
  return "part-" + hex64(XXH3_64bits_digest(&state)) + ".rec";
}

bool is_part_file_name(std::string_view name) {
  constexpr std::string_view kPrefix = "part-", kSuffix = ".rec";
  if (name.size() != kPrefix.size() + 16 + kSuffix.size()) return false;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return false;
  auto hex = name.substr(kPrefix.size(), 16);
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

namespace {

template <typename Keep>
Result<std::vector<std::string>> list_dir(const fs::path& folder, Keep keep) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(folder, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return make_error(ErrorCode::kNotFound, "no such directory " + folder.string());
    }
    return make_error(ErrorCode::kIo, "cannot list " + folder.string() + ": " + ec.message());
  }
  for (; it != end; it.increment(ec)) {
    if (keep(*it)) out.push_back(it->path().filename().string());
  }
  if (ec) return make_error(ErrorCode::kIo, "cannot list " + folder.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::vector<std::string>> list_part_files(const fs::path& folder) {
  return list_dir(folder, [](const fs::directory_entry& e) {
    std::error_code ec;
    return e.is_regular_file(ec) && is_part_file_name(e.path().filename().string());
  });
}

Result<std::vector<std::string>> list_collection_dirs(const fs::path& dir) {
  return list_dir(collections_dir(dir), [](const fs::directory_entry& e) {
    std::error_code ec;
    return e.is_directory(ec) && !e.path().filename().string().starts_with(".");
  });
}

Result<PartHeader> read_part_header_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                      "cannot open " + path.string() + ": " + std::strerror(err));
  }
  char buf[kPartHeaderSize];
  std::size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kIo, "cannot read " + path.string() + ": " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  auto header = decode_part_header(std::string_view(buf, got));
  if (!header) return std::unexpected(std::move(header).error().with_context(path.string()));
  return header;
}

Result<DecodedPart> read_part_file(const fs::path& path) {
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  auto part = decode_part(bytes);
  if (!part) return std::unexpected(std::move(part).error().with_context(path.string()));
  CM_RETURN_IF_ERROR(refuse_marked_records(*part, path));
  return part;
}

Status refuse_marked_records(const DecodedPart& part, const fs::path& path) {
  if (part.marks.empty()) return ok_status();
  // Tombstones and unrecoverable records are part of format 2 for delta generations and lossy
  // sources; this version verifies them but serves no records from such a part.
  return make_error(ErrorCode::kInvalidArgument,
                    path.string() + " holds " + std::to_string(part.marks.size()) +
                        " records marked deleted or unrecoverable (first: \"" +
                        part.records[part.marks.front().first].id +
                        "\"): this version cannot read them as records");
}

Status remove_file_durably(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return ok_status();
    return make_error(ErrorCode::kIo,
                      "cannot remove " + path.string() + ": " + std::strerror(errno));
  }
  return fsync_directory(path.parent_path());
}

void remove_stale_temp_files(const fs::path& folder) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // write_file_atomic's temp names: "." + target name + ".tmp." + pid + "." + counter.
    if (name.starts_with(".") && name.find(".tmp.") != std::string::npos) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace cm::snapshot
