// A collection's records as the SQLite metadata segment holds them (embeddings,
// embedding_metadata) with the queue's later writes replayed (common/persist/queue_overlay.hpp):
// ids, documents, uris and typed metadata, without vectors (common/persist/vector_view.hpp).
//
// Memory: O(ids the queue touched) plus one rowid per kStride records (list_ids seeks from the
// nearest one), never the ids or metadata of the whole collection.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/base/error.hpp"
#include "common/persist/persist_catalog.hpp"
#include "common/persist/queue_overlay.hpp"
#include "common/persist/sqlite_db.hpp"
#include "common/store/record.hpp"

namespace cm {

class RecordView {
 public:
  static constexpr std::uint64_t kStride = 1024;

  // `overlay` must outlive the view; its rows at or below `after` (the metadata segment's
  // max_seq_id) are already in the segment and are not replayed.
  static Result<RecordView> build(const SqliteDb& db, const PersistSchema& schema,
                                  const PersistCollection& collection, const QueueOverlay& overlay,
                                  std::int64_t after);

  std::uint64_t count() const { return base_live_ + added_.size(); }
  // Segment records in rowid order (those the queue deleted left out), then the records only the
  // queue holds, in the order it first wrote them. Stable: the copy never changes.
  Result<std::vector<std::string>> list_ids(const SqliteDb& db, std::uint64_t offset,
                                            std::uint32_t limit) const;
  // The records among `ids` that exist, without embeddings, in the order of `ids` (repeats once).
  Result<std::vector<Record>> fetch(const SqliteDb& db, std::span<const std::string> ids) const;
  // Whether the id exists after replay; only meaningful for ids the queue touched (others exist
  // when the segment has them).
  Result<bool> exists_after_replay(const SqliteDb& db, const QueueOverlay::Entry& entry) const;

 private:
  Result<std::vector<Record>> fetch_base(const SqliteDb& db,
                                         std::span<const std::string> ids) const;
  Status replay(const SqliteDb& db, const QueueOverlay::Entry& entry,
                std::optional<Record>* record) const;

  const PersistCollection* collection_ = nullptr;
  const QueueOverlay* overlay_ = nullptr;
  std::int64_t after_ = 0;
  bool with_bool_ = false;
  std::uint64_t base_live_ = 0;                   // segment records the queue did not delete
  std::vector<std::int64_t> checkpoints_;         // rowid of live record i * kStride
  std::unordered_set<std::string_view> removed_;  // in the segment, deleted by the queue
  std::vector<const std::string*> added_;         // only in the queue, in first-write order
};

}  // namespace cm
