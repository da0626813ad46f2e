// Id scan of a collection. Only ids are paged (offset paging is unsafe for
// data because offsets shift under concurrent deletes); the data is then fetched by explicit id
// lists. The scan is written as one JSON array of ids per line, line i = batch i, so a batch can
// be re-read after a crash without holding every id in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/run/shard.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

struct IdScanResult {
  std::uint64_t id_count = 0;  // distinct ids written to the scan file
  std::size_t batch_count = 0;
  // kFuzzy: the collection's count before and after the scan, and ids listed twice (a page
  // boundary slid over them while others inserted). changed() when the source moved under it.
  std::uint64_t count_before = 0, count_after = 0, duplicates = 0;
  // With a shard: distinct ids seen that belong to other shards (not written).
  std::uint64_t other_shards = 0;
  bool changed() const {
    return count_before != count_after || count_after != id_count + other_shards || duplicates != 0;
  }
};

// kExact: the collection must not change during the scan (backups and archives of collections
//   the run controls: anything else would not be a faithful copy). Fails with kVerifyFailed when
//   its count changes or disagrees with the ids seen.
// kFuzzy: a live source that keeps taking writes. Every id is written once (duplicates dropped,
//   by a 64-bit hash of the id), and a change is reported in the result, not failed. Offset paging
//   under concurrent deletes can skip ids that slide across a page boundary: a later sync (which
//   scans again) finds them.
enum class ScanMode { kExact, kFuzzy };

// Scans every id of `collection` into `path` (atomically), in batches of `batch_size`. With
// `shard`, only the ids that shard owns (ShardSpec::owns, keyed by the collection's name) are
// written; the others are counted (other_shards), so the count checks still cover every id.
Result<IdScanResult> scan_ids(VectorStore& source, const CollectionInfo& collection,
                              std::size_t batch_size, const std::filesystem::path& path,
                              ScanMode mode = ScanMode::kExact,
                              std::optional<ShardSpec> shard = std::nullopt);

// Random access to the batches of a scan file; memory O(batches), not O(ids).
class IdBatchFile {
 public:
  static Result<IdBatchFile> open(const std::filesystem::path& path);
  std::size_t batch_count() const { return offsets_.size(); }
  Result<std::vector<std::string>> batch(std::size_t index) const;

 private:
  std::filesystem::path path_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> offsets_;  // (start, length) per line
};

}  // namespace cm
