#include "common/snapshot/snapshot_generations.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/base/atomic_file.hpp"

namespace cm::snapshot {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCommittedFile = "committed";

std::optional<std::uint64_t> parse_generation(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Every generation folder present, ascending (names that are not generations are left alone).
Result<std::vector<std::uint64_t>> present_deltas(const fs::path& base) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  if (!fs::exists(deltas_dir(base), ec)) return out;
  for (fs::directory_iterator it(deltas_dir(base), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != 6 || !it->is_directory()) continue;
    if (auto g = parse_generation(name); g && *g > 0) out.push_back(*g);
  }
  if (ec) return make_error(ErrorCode::kIo, "cannot list " + deltas_dir(base).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

fs::path deltas_dir(const fs::path& base) {
  fs::path b = base;
  if (!b.has_filename()) b = b.parent_path();  // "snapshots/source/" names the same snapshot
  return b.parent_path() / (b.filename().string() + ".deltas");
}

fs::path delta_dir(const fs::path& base, std::uint64_t generation) {
  return deltas_dir(base) / fmt::format("{:06}", generation);
}

Result<std::uint64_t> committed_generation(const fs::path& base) {
  auto text = read_file(deltas_dir(base) / kCommittedFile);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::uint64_t{0};
    return std::unexpected(text.error());
  }
  auto g = parse_generation(*text);
  if (!g) {
    return make_error(ErrorCode::kCorruption,
                      (deltas_dir(base) / kCommittedFile).string() + " is not a generation number");
  }
  return *g;
}

Status commit_generation(const fs::path& base, std::uint64_t generation) {
  CM_RETURN_IF_ERROR(ensure_directory(deltas_dir(base)));
  return write_file_atomic(deltas_dir(base) / kCommittedFile, std::to_string(generation) + "\n");
}

Result<std::vector<std::uint64_t>> committed_deltas(const fs::path& base) {
  CM_ASSIGN_OR_RETURN(std::uint64_t committed, committed_generation(base));
  CM_ASSIGN_OR_RETURN(auto present, present_deltas(base));
  std::erase_if(present, [&](std::uint64_t g) { return g > committed; });
  return present;
}

Status remove_uncommitted_deltas(const fs::path& base) {
  CM_ASSIGN_OR_RETURN(std::uint64_t committed, committed_generation(base));
  CM_ASSIGN_OR_RETURN(auto present, present_deltas(base));
  for (std::uint64_t g : present) {
    if (g <= committed) continue;
    std::error_code ec;
    fs::remove_all(delta_dir(base, g), ec);
    if (ec) {
      return make_error(ErrorCode::kIo,
                        "cannot remove " + delta_dir(base, g).string() + ": " + ec.message());
    }
  }
  return ok_status();
}

}  // namespace cm::snapshot
