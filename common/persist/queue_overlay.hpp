// The writes of one collection that are still in embeddings_queue past a segment's position
// (max_seq_id): what a Chroma server would replay into its segments on the next start. Chroma
// persists the HNSW segment only every sync_threshold records, so after a stop (and more so after
// a SIGKILL) the newest vectors, and the deletes and updates after them, live only here.
//
// Only positions are kept in memory (seq id, operation, whether the row carries a vector), per
// id; vectors and metadata are read back from the row when a record is fetched. Rows are matched to
// the collection by their topic's last path element (persistent://<tenant>/<namespace>/<id> in
// 0.5-1.x, the collection's own topic in 0.4: both end in the collection id).
//
// Replay rules (Chroma's segment writers, 0.4-1.x): add inserts an id that does not exist and is
// ignored otherwise; update changes an id that exists (its vector only when the row has one) and is
// ignored otherwise; upsert inserts or changes; delete removes. Metadata updates merge (a JSON null
// removes a key).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/error.hpp"
#include "common/persist/persist_values.hpp"
#include "common/persist/sqlite_db.hpp"

namespace cm {

enum class QueueOp : std::uint8_t { kAdd = 0, kUpdate = 1, kUpsert = 2, kDelete = 3 };

struct QueueRef {
  std::int64_t seq_id = 0;
  QueueOp op = QueueOp::kAdd;
  bool has_vector = false;
};

// Where an id's current vector is after replay.
struct VectorState {
  bool exists = false;
  std::optional<std::int64_t> queue_seq;  // the row holding it; nullopt: the segment's own copy
};

bool replay_exists(bool in_base, std::span<const QueueRef> ops, std::int64_t after);
VectorState replay_vector(bool in_base, std::span<const QueueRef> ops, std::int64_t after);
// The row holding an id's vector when its segment copy is lost, from the rows that survive (the
// oldest may have been purged, so whether the id existed before the first one is unknown: an
// update with a vector is then taken, and so is an add, which Chroma would have ignored had the
// id existed already: a duplicate add in purged history is the one case this can misread).
// nullopt: no row gives it one, or the last of them deleted it.
std::optional<std::int64_t> recover_vector(std::span<const QueueRef> ops);

class QueueOverlay {
 public:
  struct Entry {
    std::string id;
    std::vector<QueueRef> ops;  // ascending seq_id
  };

  // Positions of every row of `collection_id` with seq_id > `after` (of the ids `keep` accepts,
  // when given).
  static Result<QueueOverlay> read(const SqliteDb& db, const std::string& collection_id,
                                   std::int64_t after,
                                   const std::function<bool(std::string_view)>& keep = {});

  // Ids in the order the queue first touched them.
  const std::deque<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view id) const;
  std::uint64_t row_count() const { return rows_; }

 private:
  std::deque<Entry> entries_;  // a deque: the index's keys view its strings, which never move
  std::unordered_map<std::string_view, std::size_t> index_;
  std::uint64_t rows_ = 0;
};

// One queue row, read back by seq id: its vector (when `with_vector` and the row has one) and its
// metadata update.
struct QueueRow {
  QueueOp op = QueueOp::kAdd;
  std::optional<std::vector<float>> vector;
  MetadataUpdate metadata;
};
Result<QueueRow> read_queue_row(const SqliteDb& db, std::int64_t seq_id, bool with_vector,
                                std::optional<int> dimension);

}  // namespace cm
