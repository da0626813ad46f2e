#include "migrate/snapshot_delta.hpp"

namespace cm::migrate {

Result<SnapshotDelta> SnapshotDelta::create(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot clear " + dir.string() + ": " + ec.message());
  SnapshotDelta delta(dir);
  CM_ASSIGN_OR_RETURN(delta.pending_, SnapshotStore::open(dir, SnapshotStore::Mode::kWrite));
  delta.pending_->set_description("records a sync is about to apply to the run's snapshot");
  return delta;
}

Status SnapshotDelta::upsert(const CollectionInfo& like, std::span<const Record> records) {
  if (records.empty()) return ok_status();
  auto it = created_.find(like.name);
  if (it == created_.end()) {
    CM_ASSIGN_OR_RETURN(auto copy, pending_->create_collection_from(like));
    it = created_.emplace(like.name, copy).first;
  }
  CM_RETURN_IF_ERROR(pending_->upsert(it->second, records));
  upserted_ += records.size();
  return ok_status();
}

void SnapshotDelta::remove(const std::string& collection, const std::vector<std::string>& ids) {
  auto& list = deletes_[collection];
  list.insert(list.end(), ids.begin(), ids.end());
}

Status SnapshotDelta::apply_to(VectorStore& store) {
  for (const auto& [name, ids] : deletes_) {
    CM_ASSIGN_OR_RETURN(auto info, store.find_collection(name));
    if (info) CM_RETURN_IF_ERROR(store.delete_records(*info, ids));
  }
  CM_RETURN_IF_ERROR(pending_->flush());  // sealed: its parts can be read back in order
  for (const auto& [name, pending_info] : created_) {
    CM_ASSIGN_OR_RETURN(auto info, store.find_collection(name));
    if (!info) return make_error(ErrorCode::kCorruption, "the run's snapshot lacks " + name);
    CM_ASSIGN_OR_RETURN(std::size_t parts, pending_->part_count(name));
    for (std::size_t i = 0; i < parts; ++i) {
      CM_ASSIGN_OR_RETURN(auto records, pending_->read_part(name, i));
      CM_RETURN_IF_ERROR(store.upsert(*info, records));
    }
  }
  CM_RETURN_IF_ERROR(store.flush());
  pending_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);  // best effort: the next sync clears it anyway
  return ok_status();
}

}  // namespace cm::migrate
