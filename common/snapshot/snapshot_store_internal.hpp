// Private pieces of SnapshotStore shared by its implementation files (snapshot_store.cpp for
// opening and writing, snapshot_store_read.cpp for reading). Not for use elsewhere.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"

namespace cm {

// Which part holds the current copy of every id of one collection, as of one generation.
struct SnapshotStore::IdIndex {
  struct Part {
    std::string file;
    std::uint64_t records = 0;  // records of this part that are the current copy of their id
  };
  std::vector<Part> parts;            // sorted by file name
  IdHashTable<std::uint32_t> winner;  // id -> index into parts, one entry per id
  // The part holding the current copy of `id`; null when the collection lacks it.
  const std::uint32_t* part_of(const IdHash& id) const { return winner.first(id); }
};

// The parts list_ids walks: from the manifest when sealed (every record counts), else from the
// index (only records whose id the index assigns to that part count).
struct SnapshotStore::PartView {
  std::vector<IdIndex::Part> parts;
  std::shared_ptr<const IdIndex> filter;  // null when sealed
};

struct SnapshotStore::CollectionState {
  CollectionInfo info;
  std::uint64_t max_write_seq = 0;  // highest part header write_seq in the folder
  std::uint64_t generation = 0;     // changes on every write; cached reads check it
  std::shared_ptr<const IdIndex> index;
  // The last few parts get_records decoded: callers fetch ids in list_ids order, so consecutive
  // batches mostly hit the same part.
  std::deque<std::pair<std::string, std::shared_ptr<const std::vector<Record>>>> part_cache;
};

inline constexpr std::size_t kPartCacheSize = 4;

}  // namespace cm
