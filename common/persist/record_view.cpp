#include "common/persist/record_view.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace cm {
namespace {

constexpr std::size_t kIdsPerStatement = 500;  // well under SQLite's variable limit

Result<bool> in_segment(const SqliteDb& db, const std::string& segment, std::string_view id) {
  CM_ASSIGN_OR_RETURN(SqliteStatement * stmt,
                      db.cached("SELECT 1 FROM embeddings WHERE segment_id = ?1 AND "
                                "embedding_id = ?2"));
  CM_RETURN_IF_ERROR(stmt->bind(1, segment));
  CM_RETURN_IF_ERROR(stmt->bind(2, id));
  return stmt->step();
}

}  // namespace

Result<RecordView> RecordView::build(const SqliteDb& db, const PersistSchema& schema,
                                     const PersistCollection& collection,
                                     const QueueOverlay& overlay, std::int64_t after,
                                     const std::unordered_set<std::string>* hidden) {
  RecordView view;
  view.hidden_ = hidden && !hidden->empty() ? hidden : nullptr;
  view.collection_ = &collection;
  view.overlay_ = &overlay;
  view.after_ = after;
  view.with_bool_ = schema.has_metadata_bool;
  const std::string& segment = collection.metadata_segment;
  for (const auto& entry : overlay.entries()) {
    CM_ASSIGN_OR_RETURN(bool in_base, in_segment(db, segment, entry.id));
    const bool exists = replay_exists(in_base, entry.ops, after);
    if (in_base && !exists) view.removed_.insert(entry.id);
    if (!in_base && exists && !view.is_hidden(entry.id)) view.added_.push_back(&entry.id);
  }
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT id, embedding_id FROM embeddings WHERE "
                                            "segment_id = ?1 ORDER BY id"));
  CM_RETURN_IF_ERROR(stmt.bind(1, segment));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    ++view.base_rows_;
    if (view.skipped(stmt.text(1))) continue;
    if (view.base_live_ % kStride == 0) view.checkpoints_.push_back(stmt.int64(0));
    ++view.base_live_;
  }
  return view;
}

Status RecordView::for_each_id(const SqliteDb& db,
                               const std::function<Status(std::string_view)>& fn) const {
  CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT embedding_id FROM embeddings WHERE "
                                            "segment_id = ?1 ORDER BY id"));
  CM_RETURN_IF_ERROR(stmt.bind(1, collection_->metadata_segment));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    if (!skipped(stmt.text(0))) CM_RETURN_IF_ERROR(fn(stmt.text(0)));
  }
  for (const std::string* id : added_) CM_RETURN_IF_ERROR(fn(*id));
  return ok_status();
}

Result<std::vector<std::string>> RecordView::list_ids(const SqliteDb& db, std::uint64_t offset,
                                                      std::uint32_t limit) const {
  std::vector<std::string> out;
  if (limit == 0) return out;
  if (offset < base_live_) {
    const std::uint64_t k = offset / kStride;
    std::uint64_t skip = offset - k * kStride;
    CM_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT embedding_id FROM embeddings WHERE "
                                              "segment_id = ?1 AND id >= ?2 ORDER BY id"));
    CM_RETURN_IF_ERROR(stmt.bind(1, collection_->metadata_segment));
    CM_RETURN_IF_ERROR(stmt.bind(2, checkpoints_[k]));
    while (out.size() < limit) {
      CM_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      const std::string_view id = stmt.text(0);
      if (skipped(id)) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      out.emplace_back(id);
    }
  }
  const std::uint64_t position = offset + out.size();  // of the next id, over both parts
  if (position < base_live_) return out;               // the page ended inside the segment
  for (std::uint64_t i = position - base_live_; out.size() < limit && i < added_.size(); ++i) {
    out.push_back(*added_[i]);
  }
  return out;
}

namespace {

// The columns fetch_base's lookup by id reads, in this order, for one (record, metadata key) per
// row; the rowid comes last (column rowid_column()).
std::string record_columns(bool with_bool) {
  return std::string("SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value") +
         (with_bool ? ", m.bool_value" : "") +
         ", e.id FROM embeddings e LEFT JOIN embedding_metadata m ON m.id = e.id ";
}
int rowid_column(bool with_bool) {
  return with_bool ? 6 : 5;
}

Result<std::optional<std::int64_t>> row_of(const SqliteDb& db, const std::string& segment,
                                           const std::string& id) {
  CM_ASSIGN_OR_RETURN(SqliteStatement * stmt,
                      db.cached("SELECT id FROM embeddings WHERE segment_id = ?1 AND "
                                "embedding_id = ?2"));
  CM_RETURN_IF_ERROR(stmt->bind(1, segment));
  CM_RETURN_IF_ERROR(stmt->bind(2, id));
  CM_ASSIGN_OR_RETURN(bool row, stmt->step());
  std::optional<std::int64_t> out;
  if (row) out = stmt->int64(0);
  stmt->reset();
  return out;
}

}  // namespace

// Collects the rows of `stmt` into records, one per embedding_id that `wanted` holds (or every
// one when `wanted` is null). The query orders the join by the embeddings rowid, so the rows of
// one record are consecutive: a new rowid starts a new record.
Status RecordView::collect(SqliteStatement& stmt,
                           const std::unordered_set<std::string_view>* wanted,
                           std::vector<Record>& out) const {
  const int rowid_col = rowid_column(with_bool_);
  std::optional<std::int64_t> current;  // rowid of the record the last row belonged to
  bool keep = false;                    // whether that record is wanted
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return ok_status();
    const std::int64_t rowid = stmt.int64(rowid_col);
    if (rowid != current) {
      current = rowid;
      const std::string_view id_text = stmt.text(0);
      keep = !wanted || wanted->contains(id_text);
      if (keep) out.emplace_back().id = id_text;
    }
    if (!keep || stmt.is_null(1)) continue;  // not asked for, or a record without metadata rows
    auto value = typed_value(stmt, 2, with_bool_);
    if (value) apply_metadata_value(stmt.text(1), std::move(*value), &out.back());
  }
}

// The records of this segment with rowids in [first, last] that `wanted` holds, in rowid order.
// Two range scans instead of a join: the embeddings rows, then the metadata rows of those
// rowids, matched through a table indexed by rowid - first (the caller bounds the range).
// Chroma inserts a record's metadata rows right after it, so they usually sit in a narrow band of
// embedding_metadata's own rowids: read in that order they cost no index lookup per row. The
// band's bounds are the min and max rowid of exactly those rows (from the (id, key) index), so
// the scan cannot miss one; a band much wider than its rows (records rewritten much later) is
// read through the index instead.
Status RecordView::collect_range(const SqliteDb& db, std::int64_t first, std::int64_t last,
                                 const std::unordered_set<std::string_view>& wanted,
                                 std::vector<Record>& out) const {
  std::vector<std::int64_t> slot(static_cast<std::size_t>(last - first + 1), -1);  // -> out
  {
    CM_ASSIGN_OR_RETURN(auto rows, db.prepare("SELECT id, embedding_id FROM embeddings WHERE "
                                              "+segment_id = ?1 AND id BETWEEN ?2 AND ?3"));
    CM_RETURN_IF_ERROR(rows.bind(1, collection_->metadata_segment));
    CM_RETURN_IF_ERROR(rows.bind(2, first));
    CM_RETURN_IF_ERROR(rows.bind(3, last));
    while (true) {
      CM_ASSIGN_OR_RETURN(bool row, rows.step());
      if (!row) break;
      const std::string_view id = rows.text(1);
      if (!wanted.contains(id)) continue;
      slot[static_cast<std::size_t>(rows.int64(0) - first)] = static_cast<std::int64_t>(out.size());
      out.emplace_back().id = id;
    }
  }
  CM_ASSIGN_OR_RETURN(auto band, db.prepare("SELECT count(*), min(rowid), max(rowid) FROM "
                                            "embedding_metadata WHERE id BETWEEN ?1 AND ?2"));
  CM_RETURN_IF_ERROR(band.bind(1, first));
  CM_RETURN_IF_ERROR(band.bind(2, last));
  CM_ASSIGN_OR_RETURN(bool has_band, band.step());
  if (!has_band || band.int64(0) == 0) return ok_status();  // no metadata rows at all
  const std::int64_t count = band.int64(0), lo = band.int64(1), hi = band.int64(2);
  const bool dense = hi - lo < 4 * count + 256;
  const std::string columns = std::string("SELECT id, key, string_value, int_value, float_value") +
                              (with_bool_ ? ", bool_value" : "") + " FROM embedding_metadata ";
  CM_ASSIGN_OR_RETURN(auto meta, db.prepare(columns + (dense ? "WHERE rowid BETWEEN ?1 AND ?2"
                                                             : "WHERE id BETWEEN ?1 AND ?2")));
  CM_RETURN_IF_ERROR(meta.bind(1, dense ? lo : first));
  CM_RETURN_IF_ERROR(meta.bind(2, dense ? hi : last));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, meta.step());
    if (!row) return ok_status();
    const std::int64_t id = meta.int64(0);
    if (id < first || id > last) continue;  // another range's row inside the band
    const std::int64_t at = slot[static_cast<std::size_t>(id - first)];
    if (at < 0) continue;  // a record not asked for
    auto value = typed_value(meta, 2, with_bool_);
    if (value) {
      apply_metadata_value(meta.text(1), std::move(*value), &out[static_cast<std::size_t>(at)]);
    }
  }
}

Result<std::vector<Record>> RecordView::fetch_base(const SqliteDb& db,
                                                   std::span<const std::string> ids) const {
  std::vector<Record> out;
  if (ids.empty()) return out;
  const std::string& segment = collection_->metadata_segment;
  const std::unordered_set<std::string_view> wanted(ids.begin(), ids.end());
  // An export asks for ids in list_ids order: consecutive rows of `embeddings`. Then range scans
  // between the first id's and the last id's rows read them in order, much faster than looking
  // each id up through the (segment_id, embedding_id) index. Ids outside the range (a caller
  // asking in another order) are looked up below.
  CM_ASSIGN_OR_RETURN(auto first, row_of(db, segment, ids.front()));
  CM_ASSIGN_OR_RETURN(auto last, row_of(db, segment, ids.back()));
  if (first && last && *first <= *last &&
      static_cast<std::uint64_t>(*last - *first) < 4 * ids.size() + 64) {
    CM_RETURN_IF_ERROR(collect_range(db, *first, *last, wanted, out));
  }
  if (out.size() == wanted.size()) return out;  // the range held every id (the usual case)
  std::vector<std::string_view> rest;
  {
    std::unordered_set<std::string_view> found;  // views into `out`: dropped before it grows
    for (const auto& r : out) found.insert(r.id);
    for (const auto& id : wanted) {
      if (!found.contains(id)) rest.push_back(id);
    }
  }
  for (std::size_t begin = 0; begin < rest.size(); begin += kIdsPerStatement) {
    const std::size_t n = std::min(kIdsPerStatement, rest.size() - begin);
    std::string sql =
        record_columns(with_bool_) + "WHERE e.segment_id = ?1 AND e.embedding_id IN (?2";
    for (std::size_t i = 1; i < n; ++i) sql += ", ?" + std::to_string(i + 2);
    sql += ") ORDER BY e.id";
    CM_ASSIGN_OR_RETURN(auto stmt, db.prepare(sql));
    CM_RETURN_IF_ERROR(stmt.bind(1, segment));
    for (std::size_t i = 0; i < n; ++i) {
      CM_RETURN_IF_ERROR(stmt.bind(static_cast<int>(i + 2), rest[begin + i]));
    }
    CM_RETURN_IF_ERROR(collect(stmt, nullptr, out));
  }
  return out;
}

Status RecordView::replay(const SqliteDb& db, const QueueOverlay::Entry& entry,
                          std::optional<Record>* record) const {
  for (const auto& ref : entry.ops) {
    if (ref.seq_id <= after_) continue;
    const bool exists = record->has_value();
    if (ref.op == QueueOp::kDelete) {
      record->reset();
      continue;
    }
    if ((ref.op == QueueOp::kAdd && exists) || (ref.op == QueueOp::kUpdate && !exists)) continue;
    CM_ASSIGN_OR_RETURN(QueueRow row, read_queue_row(db, ref.seq_id, false, std::nullopt));
    if (!exists) {
      record->emplace();
      (*record)->id = entry.id;
    }
    apply_metadata_update(row.metadata, &**record);
  }
  return ok_status();
}

Result<bool> RecordView::exists_after_replay(const SqliteDb& db,
                                             const QueueOverlay::Entry& entry) const {
  CM_ASSIGN_OR_RETURN(bool in_base, in_segment(db, collection_->metadata_segment, entry.id));
  return replay_exists(in_base, entry.ops, after_);
}

// Whether `base` is already fetch's answer: every id found, in the order asked, and nothing for
// the queue to replay or to hide (an export of a cleanly stopped server).
bool RecordView::answers_as_asked(const std::vector<Record>& base,
                                  std::span<const std::string> ids) const {
  if (base.size() != ids.size() || hidden_ || !overlay_->entries().empty()) return false;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (base[i].id != ids[i]) return false;
  }
  return true;
}

Result<std::vector<Record>> RecordView::fetch(const SqliteDb& db,
                                              std::span<const std::string> ids) const {
  CM_ASSIGN_OR_RETURN(std::vector<Record> base, fetch_base(db, ids));
  if (answers_as_asked(base, ids)) return base;
  std::unordered_map<std::string, std::size_t> by_id;  // owned keys: records are moved out
  for (std::size_t i = 0; i < base.size(); ++i) by_id.emplace(base[i].id, i);
  std::vector<Record> out;
  std::unordered_set<std::string_view> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second || is_hidden(id)) continue;
    const auto it = by_id.find(id);
    std::optional<Record> record;
    if (it != by_id.end()) record = std::move(base[it->second]);
    if (const auto* entry = overlay_->find(id)) CM_RETURN_IF_ERROR(replay(db, *entry, &record));
    if (record) out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace cm
