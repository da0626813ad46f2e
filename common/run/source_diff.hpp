// What a live source collection holds now against the run's snapshot copy of it, record by
// record: added, changed (any field, the vector alone too: compared by record digest) and deleted
// records. chroma-migrate --sync applies the differences; chroma-validate --source reports them
// as drift.
//
// The source's ids are paged (offset paging under writes can list an id twice or skip one: each
// id is compared once, by a 64-bit hash of the ids already seen) and every record is read, one
// batch at a time, at both ends. Ids the snapshot holds that the scan did not list are deletion
// candidates, confirmed by a get by id at the source; those that still exist are compared like
// the others. Memory: one 8-byte hash per source id, plus a batch. Read-only at both ends.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm {

struct SourceDiffCounts {
  std::uint64_t added = 0, changed = 0, deleted = 0;
  std::vector<std::string> samples;  // the first kMaxSamples ids that differ
  static constexpr std::size_t kMaxSamples = 5;
  std::uint64_t total() const { return added + changed + deleted; }
};

// One batch of differences: `changed[i]` is the source's version now, `olds[i]` the snapshot's
// (nullptr: added); `deleted` are snapshot records gone at the source. The vectors live for the
// call only. A visitor that fails stops the diff with its error.
using SourceDiffVisitor =
    std::function<Status(std::vector<Record>& changed, const std::vector<const Record*>& olds,
                         const std::vector<const Record*>& deleted)>;

// Compares `live` (collection `live_collection`) with `snapshot` (`snapshot_collection`).
Result<SourceDiffCounts> diff_source(VectorStore& live, const CollectionInfo& live_collection,
                                     VectorStore& snapshot,
                                     const CollectionInfo& snapshot_collection,
                                     std::size_t batch_size, const SourceDiffVisitor& visit);

}  // namespace cm
