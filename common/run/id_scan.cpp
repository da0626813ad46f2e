#include "common/run/id_scan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <unordered_set>

#include <xxhash.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/base/cancellation.hpp"

namespace cm {
namespace {

// Ids are paged in large pages: an ids-only get is cheap and fewer round trips scan faster.
constexpr std::uint32_t kScanPage = 10000;

}  // namespace

Result<IdScanResult> scan_ids(VectorStore& source, const CollectionInfo& collection,
                              std::size_t batch_size, const std::filesystem::path& path,
                              ScanMode mode, std::optional<ShardSpec> shard) {
  CM_ASSIGN_OR_RETURN(std::uint64_t count_before, source.count(collection));
  std::unordered_set<std::uint64_t> seen;  // kFuzzy: 8 bytes per id
  CM_RETURN_IF_ERROR(ensure_directory(path.parent_path()));
  CM_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::open(path));
  IdScanResult result;
  std::vector<std::string> pending;
  auto emit_line = [&](std::size_t n) -> Status {
    nlohmann::json line(std::vector<std::string>(pending.begin(),
                                                 pending.begin() + static_cast<std::ptrdiff_t>(n)));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    ++result.batch_count;
    return writer.append(line.dump() + "\n");
  };
  for (std::uint64_t offset = 0;; offset += kScanPage) {
    if (stop_requested()) return make_error(ErrorCode::kCancelled, "stopped during the id scan");
    CM_ASSIGN_OR_RETURN(auto page, source.list_ids(collection, offset, kScanPage));
    const bool last_page = page.size() < kScanPage;
    for (auto& id : page) {
      if (mode == ScanMode::kFuzzy && !seen.insert(XXH3_64bits(id.data(), id.size())).second) {
        ++result.duplicates;
        continue;
      }
      if (shard && !shard->owns(collection.name, id)) {
        ++result.other_shards;
        continue;
      }
      ++result.id_count;
      pending.push_back(std::move(id));
    }
    while (pending.size() >= batch_size) CM_RETURN_IF_ERROR(emit_line(batch_size));
    if (last_page) break;
  }
  if (!pending.empty()) CM_RETURN_IF_ERROR(emit_line(pending.size()));
  CM_ASSIGN_OR_RETURN(std::uint64_t count_after, source.count(collection));
  result.count_before = count_before;
  result.count_after = count_after;
  if (mode == ScanMode::kFuzzy && result.changed()) {
    spdlog::warn(
        "{} changed during its id scan ({} records before, {} after, {} ids seen, {} listed "
        "twice): exporting what the scan saw; chroma-migrate --sync catches up with the rest",
        collection.name, count_before, count_after, result.id_count, result.duplicates);
  } else if (count_before != count_after || count_after != result.id_count + result.other_shards) {
    return make_error(ErrorCode::kVerifyFailed,
                      "source collection '" + collection.name + "' changed during the id scan (" +
                          std::to_string(count_before) + " records before, " +
                          std::to_string(count_after) + " after, " +
                          std::to_string(result.id_count) +
                          " ids seen): stop writes to the source, then re-run with --resume");
  }
  CM_RETURN_IF_ERROR(writer.commit());
  spdlog::debug("id scan of {}: {} ids in {} batches{}", collection.name, result.id_count,
                result.batch_count,
                shard ? fmt::format(" (shard {}; {} ids are other shards')", shard->to_string(),
                                    result.other_shards)
                      : "");
  return result;
}

Result<IdBatchFile> IdBatchFile::open(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "id scan file missing: " + path.string());
  IdBatchFile file;
  file.path_ = path;
  std::string line;
  std::uint64_t offset = 0;
  while (std::getline(in, line)) {
    file.offsets_.emplace_back(offset, line.size());
    offset += line.size() + 1;
  }
  return file;
}

Result<std::vector<std::string>> IdBatchFile::batch(std::size_t index) const {
  if (index >= offsets_.size()) {
    return make_error(ErrorCode::kInternal, "batch " + std::to_string(index) + " out of range");
  }
  auto [start, length] = offsets_[index];
  std::string text(length, '\0');
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, "cannot open " + path_.string());
  auto n = ::pread(fd, text.data(), length, static_cast<off_t>(start));
  ::close(fd);
  if (n != static_cast<ssize_t>(length)) {
    return make_error(ErrorCode::kCorruption, "id scan file truncated: " + path_.string());
  }
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_array()) {
    return make_error(ErrorCode::kCorruption, "id scan file " + path_.string() + " line " +
                                                  std::to_string(index + 1) +
                                                  " is not a JSON array");
  }
  return json.get<std::vector<std::string>>();
}

}  // namespace cm
