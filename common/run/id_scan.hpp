// Point-in-time id scan of a source collection. Only ids are paged (offset paging is unsafe for
// data because offsets shift under concurrent deletes); the data is then fetched by explicit id
// lists. The scan is written as one JSON array of ids per line, line i = batch i, so a batch can
// be re-read after a crash without holding every id in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm {

struct IdScanResult {
  std::uint64_t id_count = 0;
  std::size_t batch_count = 0;
};

// Scans every id of `collection` into `path` (atomically), in batches of `batch_size`. Fails with
// kVerifyFailed when the source's count changes during the scan or disagrees with the ids seen:
// the source must not be written during an export.
Result<IdScanResult> scan_ids(VectorStore& source, const CollectionInfo& collection,
                              std::size_t batch_size, const std::filesystem::path& path);

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
