// Whole-collection copies between a store and a snapshot, shared by the binaries that need them:
// migrate's backup (live target -> snapshots/backup), rollback's archive (live ->
// snapshots/archive) and rollback's restore (snapshots/backup -> live). Records move batch by batch
// on worker threads; memory is O(workers x batch), never O(collection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "common/run/store_factory.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

struct CopyToSnapshotOptions {
  std::size_t batch_size = 1000;
  std::size_t workers = 2;
  std::filesystem::path scan_file;  // where the id scan is kept (common/run/id_scan.hpp)
  std::string progress_label;       // non-empty: a progress bar / periodic log line (progress.hpp)
};

// Copies every record of `live` (read from `from`) into `to` as a collection of the same name,
// id, metadata and configuration. A partial copy left in `to` by a crash is started over. Fails
// with kVerifyFailed when `live` changes during the copy (records vanish or the count moves).
// Returns the records copied. The caller flushes (seals) and verifies `to`.
Result<std::uint64_t> copy_collection_to_snapshot(VectorStore& from, const CollectionInfo& live,
                                                  WorkSnapshot& to,
                                                  const CopyToSnapshotOptions& options);

struct UpsertFromSnapshotOptions {
  std::size_t max_batch = 1000;  // the target's limit: a part larger than this is split
  std::size_t workers = 2;
  // Parts already sent by an earlier, interrupted invocation (skipped).
  std::function<bool(std::size_t part)> already_done = [](std::size_t) { return false; };
  // Called once per part after the target acknowledged it, serialised: checkpoint it here.
  std::function<Status(std::size_t part, std::size_t records)> completed =
      [](std::size_t, std::size_t) { return ok_status(); };
};

// Upserts every part of snapshot collection `name` into `target` (which the caller created).
// Sealed snapshots only; each part's file digest is checked as it is read. Returns records sent.
Result<std::uint64_t> upsert_from_snapshot(SnapshotStore& from, const std::string& name,
                                           VectorStore& to, const CollectionInfo& target,
                                           const UpsertFromSnapshotOptions& options);

}  // namespace cm
