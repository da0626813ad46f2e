// PersistStore's per-collection state: built on first use from the queue, the metadata segment
// and the vector segment, then the search for records whose vector is nowhere (the
// unrecoverable list), and the health figures read from it.
#include <algorithm>
#include <filesystem>
#include <set>

#include "common/persist/persist_store_internal.hpp"

namespace cm {

Result<PersistStore::State*> PersistStore::state_locked(const CollectionInfo& collection) {
  auto known = std::find_if(collections_.begin(), collections_.end(), [&](const auto& c) {
    return collection.id.empty() ? c.info.name == collection.name : c.info.id == collection.id;
  });
  if (known == collections_.end()) {
    return make_error(ErrorCode::kNotFound,
                      "collection '" + collection.name + "' is not in " + describe());
  }
  auto& slot = states_[known->info.id];
  if (slot) return slot.get();
  auto built = build_state(*known);
  if (!built) {
    states_.erase(known->info.id);
    return std::unexpected(std::move(built).error().with_context(describe() + ", collection '" +
                                                                 known->info.name + "'"));
  }
  slot = std::move(*built);
  return slot.get();
}

Result<std::unique_ptr<PersistStore::State>> PersistStore::build_state(
    const PersistCollection& known) {
  auto state = std::make_unique<State>();
  state->collection = &known;
  CM_ASSIGN_OR_RETURN(state->metadata_position, read_max_seq_id(db_, known.metadata_segment));
  const auto folder = files_.data / known.vector_segment;
  SegmentPickle pickle;
  if (!known.vector_segment.empty()) {
    CM_ASSIGN_OR_RETURN(state->vector_position, read_max_seq_id(db_, known.vector_segment));
    CM_ASSIGN_OR_RETURN(pickle, read_segment_pickle(folder));
    // Before 1.0 the vector segment kept its position in the pickle, not in max_seq_id.
    if (!state->vector_position && pickle.metadata && pickle.metadata->max_seq_id) {
      state->vector_position = static_cast<std::int64_t>(*pickle.metadata->max_seq_id);
    }
  }
  const std::int64_t meta_pos = state->metadata_position.value_or(0);
  const std::int64_t vector_pos = state->vector_position.value_or(0);
  CM_ASSIGN_OR_RETURN(state->overlay,
                      QueueOverlay::read(db_, known.info.id, std::min(meta_pos, vector_pos)));
  CM_ASSIGN_OR_RETURN(auto records,
                      RecordView::build(db_, schema_, known, state->overlay, meta_pos));
  state->records.emplace(std::move(records));
  CM_ASSIGN_OR_RETURN(auto vectors, VectorView::build(folder, std::move(pickle), known,
                                                      state->overlay, vector_pos));
  state->vectors.emplace(std::move(vectors));
  CM_RETURN_IF_ERROR(find_unrecoverable(*state));
  if (options_.skip_unrecoverable && !state->unrecoverable.empty()) {
    state->hidden.insert(state->unrecoverable.begin(), state->unrecoverable.end());
    CM_ASSIGN_OR_RETURN(auto visible, RecordView::build(db_, schema_, known, state->overlay,
                                                        meta_pos, &state->hidden));
    state->records.emplace(std::move(visible));
  }
  return state;
}

Status PersistStore::find_unrecoverable(State& state) {
  std::vector<std::string> lost;
  CM_RETURN_IF_ERROR(state.records->for_each_id(db_, [&](std::string_view id) -> Status {
    if (state.vectors->locate(id).kind == VectorView::Location::Kind::kNowhere) {
      lost.emplace_back(id);
    }
    return ok_status();
  }));
  if (lost.empty()) return ok_status();
  CM_RETURN_IF_ERROR(state.vectors->recover(db_, state.collection->info.id, lost));
  std::erase_if(lost, [&](const std::string& id) {
    return state.vectors->locate(id).kind != VectorView::Location::Kind::kNowhere;
  });
  state.unrecoverable = std::move(lost);
  return ok_status();
}

std::unexpected<Error> PersistStore::no_vector_error(const State& state,
                                                     const std::string& id) const {
  const VectorView& vectors = *state.vectors;
  const std::string why = vectors.missing_reason(id);
  return make_error(ErrorCode::kCorruption,
                    describe() + ", collection '" + state.collection->info.name + "': record '" +
                        id + "' has no vector: it is neither in the HNSW segment " +
                        vectors.folder().string() + " nor in any surviving embeddings_queue row" +
                        (why.empty() ? "" : " (" + why + ")") + "; " +
                        std::to_string(state.unrecoverable.size()) +
                        " record(s) of the collection are in that state");
}

Result<std::vector<std::string>> PersistStore::unrecoverable_ids(const CollectionInfo& collection) {
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(State * state, state_locked(collection));
  return state->unrecoverable;
}

Result<PersistCollectionHealth> PersistStore::health(const CollectionInfo& collection) {
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(State * state, state_locked(collection));
  const PersistCollection& c = *state->collection;
  PersistCollectionHealth h;
  h.tenant = options_.tenant;
  h.database = options_.database;
  h.name = c.info.name;
  h.id = c.info.id;
  h.space = c.info.hnsw.space;
  h.vector_segment = c.vector_segment;
  const RecordView& records = *state->records;
  h.records = records.count() + state->hidden.size();
  h.records_in_sqlite = records.rows_in_sqlite();
  h.queue_only_records = records.queue_only();
  const VectorView::Figures& f = state->vectors->figures();
  h.segment_elements = f.elements;
  h.deleted_labels = f.deleted;
  h.segment_vectors = f.mapped;
  h.orphan_labels = f.orphan_labels;
  h.fragmentation =
      f.elements ? static_cast<double>(f.deleted) / static_cast<double>(f.elements) : 0.0;
  CM_ASSIGN_OR_RETURN(auto rows, db_.prepare("SELECT count(*) FROM embeddings_queue WHERE "
                                             "substr(topic, -length(?1) - 1) = '/' || ?1"));
  CM_RETURN_IF_ERROR(rows.bind(1, c.info.id));
  CM_ASSIGN_OR_RETURN(bool counted, rows.step());
  h.queue_rows = counted ? static_cast<std::uint64_t>(rows.int64(0)) : 0;
  h.queue_rows_past_watermark = state->overlay.row_count();
  if (state->metadata_position && (state->vector_position || c.vector_segment.empty())) {
    h.purge_watermark = std::min(*state->metadata_position,
                                 state->vector_position.value_or(*state->metadata_position));
  }
  h.vectors_recovered_from_queue = f.recovered;
  h.vectors_in_queue = state->vectors->queue_vectors().size() - f.recovered;
  h.damage = state->vectors->damage();
  h.unrecoverable = state->unrecoverable.size();
  for (std::size_t i = 0; i < state->unrecoverable.size() && i < h.kSampleIds; ++i) {
    h.unrecoverable_sample.push_back(state->unrecoverable[i]);
  }
  return h;
}

Result<std::vector<PersistDatabase>> PersistStore::databases() const {
  if (!schema_.has_databases) {
    return std::vector<PersistDatabase>{{"default_tenant", "default_database"}};
  }
  CM_ASSIGN_OR_RETURN(auto stmt,
                      db_.prepare("SELECT tenant_id, name FROM databases ORDER BY 1, 2"));
  std::vector<PersistDatabase> out;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return out;
    out.push_back({std::string(stmt.text(0)), std::string(stmt.text(1))});
  }
}

Result<std::vector<std::string>> PersistStore::orphan_segment_folders() const {
  std::set<std::string, std::less<>> segments;
  CM_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT id FROM segments"));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    segments.emplace(stmt.text(0));
  }
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(files_.data, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && !segments.contains(name)) out.push_back(name);
  }
  if (ec) {
    return make_error(ErrorCode::kIo, files_.data.string() + ": cannot list: " + ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cm
