// The delta generation a sync writes on top of one of the run's snapshots (the source snapshot,
// and with a mapping the import snapshot): the records upserted since the snapshot as it reads now
// and tombstones for the ids deleted since, in the snapshot's next generation folder
// (common/snapshot/snapshot_generations.hpp). The snapshot itself is never rewritten: a sync costs
// what it changed.
//
// Life cycle: create() (discards an interrupted sync's uncommitted delta) -> upsert/remove while
// the collections are compared -> seal() -> snapshot::commit_generation() once every delta of the
// sync is sealed (sync.cpp commits the import snapshot's first, then the source's, so a crash
// between the two leaves the source snapshot behind, never ahead: the next sync finds those
// changes again).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/run/store_factory.hpp"

namespace cm::migrate {

class SnapshotDelta {
 public:
  // Generation `generation` of the snapshot in `base`, bound to what `below` (that snapshot
  // opened kRead) reads now. `options`: the work role's (fault injection).
  static Result<SnapshotDelta> create(const std::filesystem::path& base, SnapshotStore& below,
                                      std::uint64_t generation, const StoreOpenOptions& options);

  // `like`: the snapshot's collection the records belong to (name, dimension, configuration).
  Status upsert(const CollectionInfo& like, std::span<const Record> records);
  Status remove(const CollectionInfo& like, std::span<const std::string> ids);
  std::uint64_t written() const {
    std::lock_guard lock(*mu_);
    return written_;
  }

  // Writes what is buffered and seals the delta; one with nothing in it is removed instead
  // (generation numbers may skip). Memory: up to kBuffered records per collection.
  Status seal();

  const std::filesystem::path& base() const { return base_; }
  std::uint64_t generation() const { return generation_; }

 private:
  SnapshotDelta(std::filesystem::path base, std::uint64_t generation)
      : base_(std::move(base)), generation_(generation) {}
  // What waits to be written into one collection of the delta: changes arrive a few per batch,
  // and each part written costs an fsync, so they are written kBuffered at a time.
  struct Pending {
    CollectionInfo info;  // the delta's own collection
    std::vector<Record> upserts;
    std::vector<std::string> tombstones;
  };
  static constexpr std::size_t kBuffered = 4096;

  Result<Pending*> pending_for(const CollectionInfo& like);
  Status add(const CollectionInfo& like, std::span<const Record> records,
             std::span<const std::string> ids);
  Status write(const CollectionInfo& info, std::vector<Record> upserts,
               std::vector<std::string> tombstones);

  std::filesystem::path base_;
  std::uint64_t generation_ = 0;
  WorkSnapshot delta_;
  // Collections are synced side by side: upsert and remove may run concurrently (the snapshot
  // store is thread-safe; this guards the members below).
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::map<std::string, Pending> pending_;
  std::uint64_t written_ = 0;
};

}  // namespace cm::migrate
