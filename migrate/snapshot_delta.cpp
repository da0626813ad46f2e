#include "migrate/snapshot_delta.hpp"

#include "common/snapshot/snapshot_generations.hpp"

namespace cm::migrate {

Result<SnapshotDelta> SnapshotDelta::create(const std::filesystem::path& base, SnapshotStore& below,
                                            std::uint64_t generation,
                                            const StoreOpenOptions& options) {
  CM_RETURN_IF_ERROR(snapshot::remove_uncommitted_deltas(base));
  CM_ASSIGN_OR_RETURN(auto binding, below.binding());
  SnapshotDelta delta(base, generation);
  CM_ASSIGN_OR_RETURN(delta.delta_, open_work_snapshot(snapshot::delta_dir(base, generation),
                                                       SnapshotStore::Mode::kWrite, options));
  CM_RETURN_IF_ERROR(delta.delta_.snapshot->set_lineage(generation, binding));
  delta.delta_.snapshot->set_description("changes a catch-up sync found at the source");
  return delta;
}

Result<CollectionInfo> SnapshotDelta::collection(const CollectionInfo& like) {
  auto it = created_.find(like.name);
  if (it != created_.end()) return it->second;
  CM_ASSIGN_OR_RETURN(auto copy, delta_.snapshot->create_collection_from(like));
  return created_.emplace(like.name, copy).first->second;
}

Status SnapshotDelta::upsert(const CollectionInfo& like, std::span<const Record> records) {
  if (records.empty()) return ok_status();
  CM_ASSIGN_OR_RETURN(auto info, collection(like));
  for (std::size_t at = 0; at < records.size(); at += SnapshotStore::kMaxBatchSize) {
    CM_RETURN_IF_ERROR(delta_.store->upsert(
        info, records.subspan(at, std::min(SnapshotStore::kMaxBatchSize, records.size() - at))));
  }
  written_ += records.size();
  return ok_status();
}

Status SnapshotDelta::remove(const CollectionInfo& like, std::span<const std::string> ids) {
  if (ids.empty()) return ok_status();
  CM_ASSIGN_OR_RETURN(auto info, collection(like));
  for (std::size_t at = 0; at < ids.size(); at += SnapshotStore::kMaxBatchSize) {
    CM_RETURN_IF_ERROR(delta_.snapshot->write_tombstones(
        info, ids.subspan(at, std::min(SnapshotStore::kMaxBatchSize, ids.size() - at))));
  }
  written_ += ids.size();
  return ok_status();
}

Status SnapshotDelta::seal() {
  if (written_ > 0) return delta_.store->flush();
  delta_ = {};
  std::error_code ec;
  std::filesystem::remove_all(snapshot::delta_dir(base_, generation_), ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot remove the empty delta " +
                                          snapshot::delta_dir(base_, generation_).string() + ": " +
                                          ec.message());
  }
  return ok_status();
}

}  // namespace cm::migrate
