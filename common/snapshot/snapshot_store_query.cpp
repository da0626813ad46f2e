// SnapshotStore::query: exact brute force over one collection, one part at a time, so memory is
// one decoded part plus k hits per query whatever the collection's size. Meant for tests and as
// a reference, not for serving: every query reads the whole collection.
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_overlay.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/snapshot/snapshot_store_internal.hpp"
#include "common/store/distance.hpp"

namespace cm {

Result<std::vector<std::vector<QueryHit>>> SnapshotStore::query(
    const CollectionInfo& collection, std::span<const std::vector<float>> embeddings,
    std::size_t k) {
  std::shared_lock ops(ops_mu_);
  std::vector<std::vector<QueryHit>> out(embeddings.size());
  std::string space_name;
  std::optional<int> dimension;
  {
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(collection.name));
    space_name = state->info.hnsw.space;  // the stored collection's, not the caller's copy
    dimension = state->info.dimension;
  }
  const auto space = parse_distance_space(space_name);
  if (!space) {
    return make_error(ErrorCode::kInvalidArgument,
                      "collection \"" + collection.name + "\" has an unknown space: " + space_name);
  }
  if (embeddings.empty() || k == 0) return out;
  const std::size_t dim = embeddings[0].size();
  for (const auto& e : embeddings) {
    if (e.size() != dim || (dimension && e.size() != static_cast<std::size_t>(*dimension))) {
      return make_error(ErrorCode::kInvalidArgument,
                        "query embedding of dimension " + std::to_string(e.size()) +
                            " for collection \"" + collection.name + "\" of dimension " +
                            (dimension ? std::to_string(*dimension) : std::to_string(dim)));
    }
  }
  const auto rows_of = [](std::size_t n) { return static_cast<Eigen::Index>(n); };
  RowMatrix queries(rows_of(embeddings.size()), rows_of(dim));
  for (std::size_t q = 0; q < embeddings.size(); ++q) {
    queries.row(rows_of(q)) =
        Eigen::Map<const Eigen::RowVectorXf>(embeddings[q].data(), rows_of(dim));
  }
  prepare_rows(*space, queries);

  std::vector<TopK<std::string>> tops(embeddings.size(), TopK<std::string>(k));
  // Offers every live record of one part to each query's top k.
  auto offer = [&](const std::vector<const Record*>& live) -> Status {
    for (const Record* r : live) {
      if (r->embedding.size() != dim) {
        return make_error(ErrorCode::kInvalidArgument,
                          "query embedding of dimension " + std::to_string(dim) +
                              " for collection \"" + collection.name + "\" holding record '" +
                              r->id + "' of dimension " + std::to_string(r->embedding.size()));
      }
    }
    if (live.empty()) return ok_status();
    RowMatrix points(rows_of(live.size()), rows_of(dim));
    for (std::size_t r = 0; r < live.size(); ++r) {
      points.row(rows_of(r)) =
          Eigen::Map<const Eigen::RowVectorXf>(live[r]->embedding.data(), rows_of(dim));
    }
    prepare_rows(*space, points);
    const Eigen::MatrixXf distances = distance_block(*space, points, queries);
    for (std::size_t q = 0; q < tops.size(); ++q) {
      for (std::size_t r = 0; r < live.size(); ++r) {
        tops[q].offer(distances(rows_of(r), rows_of(q)), live[r]->id);
      }
    }
    return ok_status();
  };
  if (overlay_) {  // the merged parts of the base and its deltas
    CM_ASSIGN_OR_RETURN(std::size_t parts, overlay_->part_count(collection.name));
    for (std::size_t i = 0; i < parts; ++i) {
      CM_ASSIGN_OR_RETURN(auto records, overlay_->read_part(collection.name, i, true));
      std::vector<const Record*> live;
      for (const auto& r : records) live.push_back(&r);
      CM_RETURN_IF_ERROR(offer(live));
    }
  } else {
    CM_ASSIGN_OR_RETURN(auto view, parts_for(collection.name));
    const auto folder = snapshot::collection_dir(dir_, collection.name);
    for (std::uint32_t i = 0; i < view.parts.size(); ++i) {
      CM_ASSIGN_OR_RETURN(auto part, snapshot::read_part_file(folder / view.parts[i].file));
      std::vector<const Record*> live;
      for (const auto& r : part.records) {
        if (view.filter) {  // unsealed: only the current copy of each id counts
          const std::uint32_t* owner = view.filter->part_of(id_hash(r.id));
          if (!owner || *owner != i) continue;
        }
        live.push_back(&r);
      }
      CM_RETURN_IF_ERROR(offer(live));
    }
  }
  for (std::size_t q = 0; q < tops.size(); ++q) {
    for (auto& [distance, id] : tops[q].take()) out[q].push_back(QueryHit{std::move(id), distance});
  }
  return out;
}

}  // namespace cm
