// The changes a sync makes to one of the run's snapshots, collected while that snapshot is still
// being read and applied in one go at the end. Writing the snapshot during the comparison would
// unseal it, and reads of an unsealed snapshot scan every part: the delta's upserts wait in their
// own snapshot directory (on disk, any size), its deletes in memory (ids only).
//
// apply_to(): deletes first, then every pending record, then the run's snapshot is resealed and
// the pending directory removed. A crash before or during it leaves the run's snapshot behind the
// target (never ahead): the next sync finds the same changes again and re-applies them.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"

namespace cm::migrate {

class SnapshotDelta {
 public:
  // Starts an empty delta in `dir` (anything there from an interrupted sync is discarded).
  static Result<SnapshotDelta> create(const std::filesystem::path& dir);

  // `like`: the run's snapshot collection the records belong to (name, dimension, configuration).
  Status upsert(const CollectionInfo& like, std::span<const Record> records);
  void remove(const std::string& collection, const std::vector<std::string>& ids);
  std::uint64_t upserted() const { return upserted_; }

  // Applies the delta to `target` (the run's snapshot, opened for writing through `store`, which
  // may be its decorated form) and reseals it.
  Status apply_to(VectorStore& store);

 private:
  explicit SnapshotDelta(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  std::unique_ptr<SnapshotStore> pending_;
  std::map<std::string, CollectionInfo> created_;  // collection -> its pending copy
  std::map<std::string, std::vector<std::string>> deletes_;
  std::uint64_t upserted_ = 0;
};

}  // namespace cm::migrate
