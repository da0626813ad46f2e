// A collection's vectors: the HNSW segment's live elements mapped to ids through
// index_metadata.pickle, with the queue's later writes replayed over them
// (common/persist/queue_overlay.hpp).
//
// Built once per collection: one pass over data_level0.bin's labels and one parse of the pickle.
// Memory: about 50 bytes plus the id per record (ids in one arena, a sorted table of 128-bit id
// hashes, one slot -> entry index); vectors are never held, they are read from the files (pread)
// or the queue rows when asked for.
//
// A folder without index_metadata.pickle holds no persisted vectors (Chroma 1.x writes an empty
// header.bin / data_level0.bin / length.bin with a collection's first write, the pickle only when
// it persists the index, and loads nothing from a folder without one): every vector is then in
// the queue.
//
// Damage that fails the whole view (kCorruption, naming the file): a bad or inconsistent header,
// truncated data_level0.bin / length.bin, a pickle that is not a label map, two live elements
// with one label, a pickle mapping ids without a header.bin. A label the pickle maps that no live
// element carries (out of range, or marked deleted: an interrupted persist can leave that) only
// loses that id's segment copy: its vector may still be in the queue, and a record that needs it
// gets the problem in its error (missing_reason()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/error.hpp"
#include "common/persist/hnsw_segment.hpp"
#include "common/persist/index_metadata.hpp"
#include "common/persist/persist_catalog.hpp"
#include "common/persist/queue_overlay.hpp"
#include "common/store/canonical.hpp"

namespace cm {

// The pickle of a vector segment, read before the view because a 0.x pickle holds the segment's
// queue position. nullopt when the segment has no index_metadata.pickle.
Result<std::optional<IndexMetadata>> read_segment_pickle(const std::filesystem::path& folder);

class VectorView {
 public:
  // Where a live id's vector is.
  struct Location {
    enum class Kind { kNowhere, kSegment, kQueue } kind = Kind::kNowhere;
    std::uint64_t slot = 0;      // kSegment: the element of data_level0.bin
    std::int64_t queue_seq = 0;  // kQueue: the embeddings_queue row
  };

  // `folder`: DIR/<vector segment id> (it may not exist: nothing persisted yet). `pickle`: from
  // read_segment_pickle. `overlay` must outlive the view; its rows at or below `after` (the vector
  // segment's position) are already in the segment.
  static Result<VectorView> build(const std::filesystem::path& folder,
                                  std::optional<IndexMetadata> pickle,
                                  const PersistCollection& collection, const QueueOverlay& overlay,
                                  std::int64_t after);

  Location locate(std::string_view id) const;
  // Why the segment has no vector for `id` when the pickle maps it (empty: no known reason).
  std::string missing_reason(std::string_view id) const;
  const HnswSegment* segment() const { return segment_ ? &*segment_ : nullptr; }
  const std::filesystem::path& folder() const { return folder_; }
  std::int64_t after() const { return after_; }

  // Every live id whose vector is the segment's own (not replaced or deleted by the queue), with
  // its slot: fn(id, slot) for each, in slot order.
  Status scan_segment(const std::function<Status(std::string_view id, const HnswSlot&)>& fn) const;
  // Every id whose current vector is in a queue row, with that row's seq id, in queue order.
  const std::vector<std::pair<const std::string*, std::int64_t>>& queue_vectors() const {
    return queue_vectors_;
  }

 private:
  struct Entry {
    std::uint64_t id_offset = 0;
    std::uint32_t id_size = 0;
    bool replaced = false;   // the queue deleted the id or gave it a newer vector
    std::uint64_t slot = 0;  // kNoSlot: the pickle maps the id to a label no live element has
  };
  std::string_view id_of(const Entry& e) const { return {ids_.data() + e.id_offset, e.id_size}; }
  // The pickle's entry for `id`, or nullptr.
  const Entry* find_entry(std::string_view id) const;
  Status map_labels(IndexMetadata pickle);
  void apply_overlay(const QueueOverlay& overlay);

  std::filesystem::path folder_;
  std::int64_t after_ = 0;
  std::optional<HnswSegment> segment_;
  std::string ids_;                                        // every mapped id, back to back
  std::vector<Entry> entries_;                             // one per mapped id
  std::vector<std::pair<IdHash, std::uint32_t>> by_hash_;  // sorted: id hash -> entry
  std::vector<std::uint32_t> entry_of_slot_;               // kNoEntry for unmapped slots
  std::unordered_map<std::string_view, Location> queued_;  // ids the queue decided
  std::vector<std::pair<const std::string*, std::int64_t>> queue_vectors_;
  std::unordered_map<std::string, std::string> missing_;  // id -> why the segment lacks it
};

}  // namespace cm
