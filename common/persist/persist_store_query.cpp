// PersistStore::query: exact nearest neighbours over the segment's live elements and the vectors
// only the queue holds, streamed (never the whole collection in memory).
#include <cmath>

#include "common/persist/persist_store_internal.hpp"
#include "common/store/distance.hpp"

namespace cm {
namespace {

constexpr std::size_t kQueueRowsPerLock = 256;

}  // namespace

Status PersistStore::query_queue_vectors(
    State& state, const std::function<void(const std::string&, std::span<const float>)>& fn) {
  const auto& queued = state.vectors->queue_vectors();
  for (std::size_t begin = 0; begin < queued.size(); begin += kQueueRowsPerLock) {
    std::vector<std::pair<const std::string*, std::vector<float>>> rows;
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = begin; i < std::min(queued.size(), begin + kQueueRowsPerLock); ++i) {
        CM_ASSIGN_OR_RETURN(QueueRow row, read_queue_row(db_, queued[i].second, true,
                                                         state.collection->info.dimension));
        if (row.vector) rows.emplace_back(queued[i].first, std::move(*row.vector));
      }
    }
    for (const auto& [id, v] : rows) fn(*id, v);
  }
  return ok_status();
}

Result<std::vector<std::vector<QueryHit>>> PersistStore::query(
    const CollectionInfo& collection, std::span<const std::vector<float>> embeddings,
    std::size_t k) {
  State* state = nullptr;
  {
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(state, state_locked(collection));
  }
  const CollectionInfo& info = state->collection->info;
  const auto space = parse_distance_space(info.hnsw.space);
  if (!space) {
    return make_error(
        ErrorCode::kCorruption,
        "collection '" + info.name + "' has the unknown space '" + info.hnsw.space + "'");
  }
  std::optional<std::size_t> dim;
  if (info.dimension) dim = static_cast<std::size_t>(*info.dimension);
  if (const HnswSegment* segment = state->vectors->segment()) dim = segment->header().dimension();
  std::vector<std::vector<float>> queries(embeddings.begin(), embeddings.end());
  for (auto& q : queries) {
    if (dim && q.size() != *dim) {
      return make_error(ErrorCode::kInvalidArgument, "query embedding of dimension " +
                                                         std::to_string(q.size()) +
                                                         " for collection '" + info.name +
                                                         "' of dimension " + std::to_string(*dim));
    }
    prepare_vector(*space, q);
  }
  std::vector<TopK<std::string>> best(queries.size(), TopK<std::string>(k));
  std::vector<float> point;
  auto offer = [&](std::string_view id, std::span<const float> v) {
    point.assign(v.begin(), v.end());
    prepare_vector(*space, point);
    for (std::size_t q = 0; q < queries.size(); ++q) {
      if (point.size() != queries[q].size()) continue;  // no dimension known: skip strays
      const float d = prepared_distance(*space, point.data(), queries[q].data(), point.size());
      if (best[q].would_accept(d)) best[q].offer(d, std::string(id));
    }
  };
  std::vector<float> restored;
  CM_RETURN_IF_ERROR(
      state->vectors->scan_segment([&](std::string_view id, const HnswSlot& slot) -> Status {
        CM_ASSIGN_OR_RETURN(restored, state->vectors->segment()->restore(slot));
        offer(id, restored);
        return ok_status();
      }));
  CM_RETURN_IF_ERROR(query_queue_vectors(
      *state, [&](const std::string& id, std::span<const float> v) { offer(id, v); }));
  std::vector<std::vector<QueryHit>> out;
  out.reserve(best.size());
  for (auto& top : best) {
    std::vector<QueryHit> hits;
    for (auto& [distance, id] : top.take()) hits.push_back({std::move(id), distance});
    out.push_back(std::move(hits));
  }
  return out;
}

}  // namespace cm
