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
// Damage never fails the view: it loses segment copies, which the store then looks for in the
// queue (recover()) and lists when they are nowhere (persist_store.hpp):
//   - a pickle that cannot be read, a bad header.bin or a missing data_level0.bin / length.bin:
//     every segment copy is lost (damage() says why);
//   - a truncated data_level0.bin or length.bin: the elements past the last whole one;
//   - a label the pickle maps that no usable live element carries: out of range, marked deleted,
//     carried by two live elements, or with an impossible length.bin norm.
// Only I/O failures (kIo) are errors.
#pragma once

#include <cstdint>
#include <deque>
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
#include "common/persist/sqlite_db.hpp"
#include "common/store/canonical.hpp"

namespace cm {

// The pickle of a vector segment, read before the view because a 0.x pickle holds the segment's
// queue position.
struct SegmentPickle {
  std::optional<IndexMetadata> metadata;  // nullopt: no index_metadata.pickle, or a damaged one
  std::string damage;  // why the file could not be decoded, naming it (empty: read, or absent)
};
// kIo when the file exists but cannot be read; a pickle that does not decode is `damage`.
Result<SegmentPickle> read_segment_pickle(const std::filesystem::path& folder);

class VectorView {
 public:
  // Where a live id's vector is.
  struct Location {
    enum class Kind { kNowhere, kSegment, kQueue } kind = Kind::kNowhere;
    std::uint64_t slot = 0;      // kSegment: the element of data_level0.bin
    std::int64_t queue_seq = 0;  // kQueue: the embeddings_queue row
  };

  // What the segment holds, for the health report (persist_health.hpp).
  struct Figures {
    std::uint64_t elements = 0;       // header.bin's cur_element_count (0: no readable header)
    std::uint64_t deleted = 0;        // readable elements marked deleted
    std::uint64_t live = 0;           // readable, not deleted, usable (label once, sane norm)
    std::uint64_t mapped = 0;         // pickle ids whose label a usable live element carries
    std::uint64_t orphan_labels = 0;  // usable live elements whose label no pickle id maps
    std::uint64_t recovered = 0;      // lost segment copies found in the queue by recover()
  };

  // `folder`: DIR/<vector segment id> (it may not exist: nothing persisted yet). `pickle`: from
  // read_segment_pickle. `overlay` must outlive the view; its rows at or below `after` (the vector
  // segment's position) are already in the segment.
  static Result<VectorView> build(const std::filesystem::path& folder, SegmentPickle pickle,
                                  const PersistCollection& collection, const QueueOverlay& overlay,
                                  std::int64_t after);

  // Looks for the vectors of `lost` (live ids that locate() finds nowhere) in every surviving
  // embeddings_queue row of the collection, also those at or below the segment's position (a
  // queue that was never purged, before 0.5.6, still holds them all; 1.x keeps the rows from
  // the purge watermark on). The newest vector the rows give an id wins (recover_vector(),
  // queue_overlay.hpp). Ids found locate to kQueue from then on. Returns how many were found.
  Result<std::size_t> recover(const SqliteDb& db, const std::string& collection_id,
                              const std::vector<std::string>& lost);

  Location locate(std::string_view id) const;
  // Why the segment has no vector for `id` (empty: no known reason), naming the file.
  std::string missing_reason(std::string_view id) const;
  // What is wrong with the segment's files, one line each naming the file (empty: nothing).
  const std::vector<std::string>& damage() const { return damage_; }
  const Figures& figures() const { return figures_; }
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
    bool replaced = false;    // the queue deleted the id or gave it a newer vector
    std::uint64_t slot = 0;   // kNoSlot: the pickle maps the id to a label no live element has
    std::uint64_t label = 0;  // the pickle's, for missing_reason()
  };
  std::string_view id_of(const Entry& e) const { return {ids_.data() + e.id_offset, e.id_size}; }
  // The pickle's entry for `id`, or nullptr.
  const Entry* find_entry(std::string_view id) const;
  // The usable live elements as sorted (label, slot) pairs; counts the rest into figures_ and
  // damage_.
  Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> live_elements(bool with_lengths);
  Status map_labels(IndexMetadata pickle, bool with_lengths);
  void apply_overlay(const QueueOverlay& overlay);
  void note(std::string damage) { damage_.push_back(std::move(damage)); }

  std::filesystem::path folder_;
  std::int64_t after_ = 0;
  std::optional<HnswSegment> segment_;
  std::string ids_;                                        // every mapped id, back to back
  std::vector<Entry> entries_;                             // one per mapped id
  std::vector<std::pair<IdHash, std::uint32_t>> by_hash_;  // sorted: id hash -> entry
  std::vector<std::uint32_t> entry_of_slot_;               // kNoEntry for unmapped slots
  std::unordered_map<std::string_view, Location> queued_;  // ids the queue decided
  std::vector<std::pair<const std::string*, std::int64_t>> queue_vectors_;
  std::deque<std::string> recovered_ids_;  // keys of queued_ that recover() added (never move)
  std::vector<std::string> damage_;
  Figures figures_;
};

}  // namespace cm
