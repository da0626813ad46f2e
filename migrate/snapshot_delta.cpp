#include "migrate/snapshot_delta.hpp"

#include <utility>

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

Result<SnapshotDelta::Pending*> SnapshotDelta::pending_for(const CollectionInfo& like) {
  // Callers hold mu_.
  auto it = pending_.find(like.name);
  if (it != pending_.end()) return &it->second;
  CM_ASSIGN_OR_RETURN(auto copy, delta_.snapshot->create_collection_from(like));
  return &pending_.emplace(like.name, Pending{.info = copy, .upserts = {}, .tombstones = {}})
              .first->second;
}

Status SnapshotDelta::write(const CollectionInfo& info, std::vector<Record> upserts,
                            std::vector<std::string> tombstones) {
  std::span<const Record> records(upserts);
  for (std::size_t at = 0; at < records.size(); at += SnapshotStore::kMaxBatchSize) {
    CM_RETURN_IF_ERROR(delta_.store->upsert(
        info, records.subspan(at, std::min(SnapshotStore::kMaxBatchSize, records.size() - at))));
  }
  std::span<const std::string> ids(tombstones);
  for (std::size_t at = 0; at < ids.size(); at += SnapshotStore::kMaxBatchSize) {
    CM_RETURN_IF_ERROR(delta_.snapshot->write_tombstones(
        info, ids.subspan(at, std::min(SnapshotStore::kMaxBatchSize, ids.size() - at))));
  }
  return ok_status();
}

Status SnapshotDelta::add(const CollectionInfo& like, std::span<const Record> records,
                          std::span<const std::string> ids) {
  if (records.empty() && ids.empty()) return ok_status();
  CollectionInfo info;
  std::vector<Record> upserts;
  std::vector<std::string> tombstones;
  {
    std::lock_guard lock(*mu_);
    CM_ASSIGN_OR_RETURN(Pending * p, pending_for(like));
    p->upserts.insert(p->upserts.end(), records.begin(), records.end());
    p->tombstones.insert(p->tombstones.end(), ids.begin(), ids.end());
    written_ += records.size() + ids.size();
    if (p->upserts.size() + p->tombstones.size() < kBuffered) return ok_status();
    info = p->info;
    upserts = std::exchange(p->upserts, {});
    tombstones = std::exchange(p->tombstones, {});
  }
  return write(info, std::move(upserts), std::move(tombstones));
}

Status SnapshotDelta::upsert(const CollectionInfo& like, std::span<const Record> records) {
  return add(like, records, {});
}

Status SnapshotDelta::remove(const CollectionInfo& like, std::span<const std::string> ids) {
  return add(like, {}, ids);
}

Status SnapshotDelta::seal() {
  if (written() > 0) {
    for (auto& [name, p] : pending_) {
      CM_RETURN_IF_ERROR(
          write(p.info, std::exchange(p.upserts, {}), std::exchange(p.tombstones, {})));
    }
    return delta_.store->flush();
  }
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
