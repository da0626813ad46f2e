// A collection's records as the SQLite metadata segment holds them (embeddings,
// embedding_metadata) with the queue's later writes replayed (common/persist/queue_overlay.hpp):
// ids, documents, uris and typed metadata, without vectors (common/persist/vector_view.hpp).
//
// Memory: O(ids the queue touched) plus one rowid per kStride records (list_ids seeks from the
// nearest one), never the ids or metadata of the whole collection.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // max_seq_id) are already in the segment and are not replayed. `hidden` (may be null; must
  // outlive the view): ids the view leaves out as if they did not exist (count, list_ids, fetch):
  // the records whose vector is nowhere, when the store is asked to skip them.
  static Result<RecordView> build(const SqliteDb& db, const PersistSchema& schema,
                                  const PersistCollection& collection, const QueueOverlay& overlay,
                                  std::int64_t after,
                                  const std::unordered_set<std::string>* hidden = nullptr);

  std::uint64_t count() const { return base_live_ + added_.size(); }
  // Rows of the metadata segment (the embeddings table), whatever the queue did to them since.
  std::uint64_t rows_in_sqlite() const { return base_rows_; }
  // Records only the queue holds (not in the metadata segment).
  std::uint64_t queue_only() const { return added_.size(); }
  // fn(id) for every id list_ids would give, in that order, in one pass.
  Status for_each_id(const SqliteDb& db, const std::function<Status(std::string_view)>& fn) const;
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
  Status collect(SqliteStatement& stmt, const std::unordered_set<std::string_view>* wanted,
                 std::vector<Record>& out) const;
  Status collect_range(const SqliteDb& db, std::int64_t first, std::int64_t last,
                       const std::unordered_set<std::string_view>& wanted,
                       std::vector<Record>& out) const;
  bool answers_as_asked(const std::vector<Record>& base, std::span<const std::string> ids) const;
  bool is_hidden(std::string_view id) const {
    return hidden_ && hidden_->contains(std::string(id));
  }
  // A metadata-segment row that list_ids and count leave out: deleted by the queue, or hidden.
  bool skipped(std::string_view id) const {
    return (!removed_.empty() && removed_.contains(id)) || is_hidden(id);
  }
  Status replay(const SqliteDb& db, const QueueOverlay::Entry& entry,
                std::optional<Record>* record) const;

  const PersistCollection* collection_ = nullptr;
  const QueueOverlay* overlay_ = nullptr;
  std::int64_t after_ = 0;
  bool with_bool_ = false;
  const std::unordered_set<std::string>* hidden_ = nullptr;
  std::uint64_t base_rows_ = 0;
  std::uint64_t base_live_ = 0;                   // segment records the queue did not delete
  std::vector<std::int64_t> checkpoints_;         // rowid of live record i * kStride
  std::unordered_set<std::string_view> removed_;  // in the segment, deleted by the queue
  std::vector<const std::string*> added_;         // only in the queue, in first-write order
};

}  // namespace cm
