#include "common/run/collection_copy.hpp"

#include <atomic>
#include <optional>
#include <span>

#include "common/base/batch_runner.hpp"
#include "common/base/progress.hpp"
#include "common/run/id_scan.hpp"

namespace cm {

Result<std::uint64_t> copy_collection_to_snapshot(VectorStore& from, const CollectionInfo& live,
                                                  WorkSnapshot& to,
                                                  const CopyToSnapshotOptions& options) {
  CM_ASSIGN_OR_RETURN(auto partial, to.store->find_collection(live.name));
  if (partial) CM_RETURN_IF_ERROR(to.store->delete_collection(live.name));
  CM_ASSIGN_OR_RETURN(CollectionInfo copy, to.snapshot->create_collection_from(live));
  CM_ASSIGN_OR_RETURN(auto scan, scan_ids(from, live, options.batch_size, options.scan_file));
  CM_ASSIGN_OR_RETURN(auto batches, IdBatchFile::open(options.scan_file));
  std::optional<Progress> bar;
  if (!options.progress_label.empty()) bar.emplace(options.progress_label, scan.id_count);
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    CM_ASSIGN_OR_RETURN(auto ids, batches.batch(i));
    CM_ASSIGN_OR_RETURN(auto records, from.get_records(live, ids));
    if (records.size() != ids.size()) {
      return make_error(ErrorCode::kVerifyFailed,
                        "collection '" + live.name + "' changed while it was being copied (" +
                            std::to_string(ids.size() - records.size()) +
                            " record(s) vanished); copy it again when it is quiet");
    }
    CM_RETURN_IF_ERROR(to.store->upsert(copy, records));
    return records.size();
  };
  work.completed = [&](std::size_t, std::size_t records) {
    if (bar) bar->advance(records);
    return ok_status();
  };
  CM_RETURN_IF_ERROR(run_batches(
      batches.batch_count(), [](std::size_t) { return false; }, options.workers, work));
  if (bar) bar->finish();
  return scan.id_count;
}

Result<std::uint64_t> upsert_from_snapshot(SnapshotStore& from, const std::string& name,
                                           VectorStore& to, const CollectionInfo& target,
                                           const UpsertFromSnapshotOptions& options) {
  CM_ASSIGN_OR_RETURN(std::size_t parts, from.part_count(name));
  const std::size_t max_batch = std::max<std::size_t>(1, options.max_batch);
  std::atomic<std::uint64_t> sent{0};
  BatchWork work;
  work.run = [&](std::size_t part) -> Result<std::size_t> {
    CM_ASSIGN_OR_RETURN(auto records, from.read_part(name, part));
    std::span<const Record> all(records);
    for (std::size_t at = 0; at < all.size(); at += max_batch) {
      CM_RETURN_IF_ERROR(to.upsert(target, all.subspan(at, std::min(max_batch, all.size() - at))));
    }
    sent += records.size();
    return records.size();
  };
  work.completed = options.completed;
  CM_RETURN_IF_ERROR(run_batches(parts, options.already_done, options.workers, work));
  return sent.load();
}

}  // namespace cm
