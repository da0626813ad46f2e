#include "common/persist/queue_overlay.hpp"

namespace cm {
namespace {

Result<QueueOp> op_of(std::int64_t code, std::int64_t seq_id) {
  if (code < 0 || code > 3) {
    return make_error(ErrorCode::kCorruption, "embeddings_queue row " + std::to_string(seq_id) +
                                                  " has the unknown operation " +
                                                  std::to_string(code));
  }
  return static_cast<QueueOp>(code);
}

}  // namespace

bool replay_exists(bool in_base, std::span<const QueueRef> ops, std::int64_t after) {
  bool exists = in_base;
  for (const auto& r : ops) {
    if (r.seq_id <= after) continue;
    if (r.op == QueueOp::kDelete) {
      exists = false;
    } else if (r.op != QueueOp::kUpdate) {
      exists = true;
    }
  }
  return exists;
}

VectorState replay_vector(bool in_base, std::span<const QueueRef> ops, std::int64_t after) {
  VectorState s{in_base, std::nullopt};
  for (const auto& r : ops) {
    if (r.seq_id <= after) continue;
    switch (r.op) {
      case QueueOp::kAdd:
        if (!s.exists && r.has_vector) s = {true, r.seq_id};
        break;
      case QueueOp::kUpdate:
        if (s.exists && r.has_vector) s.queue_seq = r.seq_id;
        break;
      case QueueOp::kUpsert:
        if (r.has_vector) {
          s = {true, r.seq_id};
        } else {
          s.exists = true;  // Chroma rejects an upsert without a vector; keep what there is
        }
        break;
      case QueueOp::kDelete:
        s = {false, std::nullopt};
        break;
    }
  }
  return s;
}

std::optional<std::int64_t> recover_vector(std::span<const QueueRef> ops) {
  enum class Known { kUnknown, kExists, kAbsent } state = Known::kUnknown;
  std::optional<std::int64_t> vector;
  for (const auto& r : ops) {
    switch (r.op) {
      case QueueOp::kAdd:
        if (state != Known::kExists && r.has_vector) vector = r.seq_id;
        state = Known::kExists;
        break;
      case QueueOp::kUpdate:
        if (state != Known::kAbsent && r.has_vector) vector = r.seq_id;
        break;
      case QueueOp::kUpsert:
        if (r.has_vector) vector = r.seq_id;
        state = Known::kExists;
        break;
      case QueueOp::kDelete:
        state = Known::kAbsent;
        vector.reset();
        break;
    }
  }
  return state == Known::kAbsent ? std::nullopt : vector;
}

Result<QueueOverlay> QueueOverlay::read(const SqliteDb& db, const std::string& collection_id,
                                        std::int64_t after,
                                        const std::function<bool(std::string_view)>& keep) {
  CM_ASSIGN_OR_RETURN(auto stmt,
                      db.prepare("SELECT seq_id, operation, id, vector IS NOT NULL "
                                 "FROM embeddings_queue WHERE seq_id > ?1 AND "
                                 "substr(topic, -length(?2) - 1) = '/' || ?2 ORDER BY seq_id"));
  CM_RETURN_IF_ERROR(stmt.bind(1, after));
  CM_RETURN_IF_ERROR(stmt.bind(2, collection_id));
  QueueOverlay out;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    const std::int64_t seq = stmt.int64(0);
    CM_ASSIGN_OR_RETURN(QueueOp op, op_of(stmt.int64(1), seq));
    const std::string_view id = stmt.text(2);
    if (keep && !keep(id)) continue;
    auto it = out.index_.find(id);
    if (it == out.index_.end()) {
      out.entries_.push_back(Entry{std::string(id), {}});
      it = out.index_.emplace(out.entries_.back().id, out.entries_.size() - 1).first;
    }
    out.entries_[it->second].ops.push_back({seq, op, stmt.int64(3) != 0});
    ++out.rows_;
  }
  return out;
}

const QueueOverlay::Entry* QueueOverlay::find(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Result<QueueRow> read_queue_row(const SqliteDb& db, std::int64_t seq_id, bool with_vector,
                                std::optional<int> dimension) {
  CM_ASSIGN_OR_RETURN(SqliteStatement * cached,
                      db.cached(with_vector ? "SELECT operation, metadata, vector, encoding "
                                              "FROM embeddings_queue WHERE seq_id = ?1"
                                            : "SELECT operation, metadata "
                                              "FROM embeddings_queue WHERE seq_id = ?1"));
  SqliteStatement& stmt = *cached;
  CM_RETURN_IF_ERROR(stmt.bind(1, seq_id));
  CM_ASSIGN_OR_RETURN(bool found, stmt.step());
  const std::string where = "embeddings_queue row " + std::to_string(seq_id);
  if (!found) return make_error(ErrorCode::kCorruption, where + " vanished");
  QueueRow row;
  CM_ASSIGN_OR_RETURN(row.op, op_of(stmt.int64(0), seq_id));
  if (!stmt.is_null(1)) {
    auto update = parse_queue_metadata(stmt.text(1));
    if (!update) return std::unexpected(std::move(update).error().with_context(where));
    row.metadata = std::move(*update);
  }
  if (with_vector && !stmt.is_null(2)) {
    auto v = decode_queue_vector(stmt.blob(2), stmt.text(3), dimension);
    if (!v) return std::unexpected(std::move(v).error().with_context(where));
    row.vector = std::move(*v);
  }
  return row;
}

}  // namespace cm
