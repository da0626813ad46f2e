// SnapshotStore::Overlay: a snapshot opened kRead together with its committed delta generations
// (snapshot_generations.hpp), read as one snapshot. Private to SnapshotStore.
//
// Which copy of an id counts: the newest generation holding it; a tombstone there hides it. At
// open, every delta is read in full (deltas are what syncs changed: small) into an id -> newest
// generation map per collection, and each collection's count is computed once (the base's id
// index tells which delta ids the base already held). Memory: that map, plus the base's id index
// for the collections the deltas touch.
//
// Part reads walk the base's parts, then each delta's, leaving out the copies a newer generation
// replaced and every tombstone: a part can come back shorter than the manifest lists, or empty.
// list_ids pages the same merged order (the base's, then the deltas' live ids sorted); sequential
// paging (offset = the previous call's end) continues where the last call stopped.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"

namespace cm {

class SnapshotStore::Overlay {
 public:
  static Result<std::unique_ptr<Overlay>> open(const std::filesystem::path& dir,
                                               const std::vector<std::uint64_t>& generations);

  std::uint64_t generation() const { return layers_.back().generation; }
  ManifestBase binding() const {
    return {layers_.back().generation, layers_.back().manifest_xxh3_64};
  }
  // The base's manifest with each collection's record_count the merged one.
  SnapshotManifest patched(SnapshotManifest base) const;

  Result<std::uint64_t> count(const std::string& collection) const;
  std::vector<std::string> deleted_ids(const std::string& collection) const;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& collection, std::uint64_t offset,
                                            std::uint32_t limit);
  Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                          std::span<const std::string> ids);
  Result<std::size_t> part_count(const std::string& collection);
  Result<std::vector<Record>> read_part(const std::string& collection, std::size_t index,
                                        bool vectors_only);
  // Problems of each delta (verify_snapshot on its folder), file names relative to `dir`'s parent.
  Status verify_deltas(VerifyReport& report) const;

 private:
  struct Layer {
    std::uint64_t generation = 0;
    std::filesystem::path dir;
    std::unique_ptr<SnapshotStore> store;
    std::string manifest_xxh3_64;
  };
  struct Newest {
    std::uint32_t layer = 0;
    bool tombstone = false;
  };
  using NewestMap = std::unordered_map<std::string, Newest>;
  struct Cursor {
    std::uint64_t next = 0;         // the merged offset the next sequential call starts at
    std::uint64_t base_offset = 0;  // how far the base's own ids were paged
    int stage = 0;                  // 0: base ids, 1: the deltas' ids, 2: done
    std::vector<std::string> pending;
    std::size_t pending_at = 0;
  };

  Status index_delta(std::uint32_t layer);
  Status compute_count(const std::string& collection);
  // Layer and part within it of merged part `index`.
  Result<std::pair<std::uint32_t, std::size_t>> locate(const std::string& collection,
                                                       std::size_t index);
  bool current(const NewestMap* newest, const std::string& id, std::uint32_t layer) const;
  Status refill(const CollectionInfo& collection, Cursor& cursor);

  std::vector<Layer> layers_;  // [0]: the base
  std::map<std::string, NewestMap> newest_;
  std::map<std::string, std::uint64_t> counts_;
  std::mutex cursor_mu_;
  std::map<std::string, Cursor> cursors_;  // per collection: collections are paged side by side
};

}  // namespace cm
