// The pipelined import: while the export writes snapshot parts, the target receives each part as
// soon as it is durable, so a run takes about as long as the slower of the two phases instead of
// their sum (issue: migrate at the server's ingest ceiling).
//
// When (pipelining_allowed): no check has to read every record before the first target write.
// That is a run without a mapping (a mapped transform reads the sealed export, and id collisions
// between merged sources are known only after it) and without a contract (its preflight reads
// every record first), not a dry run, and not --no-pipeline; staged, or in place creating every
// target collection. An in-place run that replaces or merges into a live collection keeps the
// sequential order, so that nothing live is deleted or written before the export is sealed and
// verified (a source failing mid-export then leaves the live collections as they were). Staged
// runs write only their staging collections (run_backup is still called first, as the import
// phase does).
//
// Guarantees, as the sequential import gives them:
//  - each part is read back from disk and every record's stored digest recomputed before it is
//    sent (SnapshotStore::read_part_file): what reaches the target is what the snapshot holds;
//  - a part is recorded in the checkpoint (stage "stream": its file name, per collection) only
//    after the target acknowledged all of it. The import phase still runs after the seal and the
//    snapshot's full verification; it skips exactly the parts recorded here and sends the rest,
//    so a crash (kill -9) anywhere repeats at most the parts in flight, idempotently;
//  - the first error of the import stops the export too (push fails), and the run exits with it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"
#include "migrate/phase_context.hpp"

namespace cm::migrate {

inline constexpr const char* kStageStream = "stream";

bool pipelining_allowed(const PhaseContext& ctx);

// The part file names a pipelined import already sent for `collection`, and their records.
struct StreamedParts {
  std::set<std::string> files;
  std::uint64_t records = 0;
};
StreamedParts streamed_parts(const ckpt::Checkpoint& checkpoint, const std::string& collection);

class ImportStream {
 public:
  // Backs up, then prepares every target collection of the run (import_targets.hpp), then starts
  // options.workers import threads reading parts from `snapshot` (the export snapshot, unsealed).
  static Result<std::unique_ptr<ImportStream>> start(PhaseContext& ctx, SnapshotStore& snapshot);
  ~ImportStream();  // stops and joins the threads (parts not yet sent stay for the import phase)

  // Hands over a part the export wrote and the snapshot acknowledged. Blocks while the queue holds
  // two parts per worker (bounded memory: file names only). Fails with the import's first error.
  Status push(const std::string& collection, std::string file, std::size_t records);
  // No more parts: waits until every queued part is sent; the first error, else records sent.
  Result<std::uint64_t> finish();

 private:
  struct Part {
    std::string collection;
    std::string file;
    std::size_t records = 0;
  };
  struct Target {
    CollectionInfo info;
    LedgerAction action = LedgerAction::kCreated;
  };
  ImportStream(PhaseContext& ctx, SnapshotStore& snapshot) : ctx_(ctx), snapshot_(snapshot) {}
  void work();
  Status send(const Part& part);
  void fail(Error error);

  PhaseContext& ctx_;
  SnapshotStore& snapshot_;
  std::map<std::string, Target> targets_;  // by source (= import snapshot) collection name
  std::size_t capacity_ = 2;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Part> queue_;
  bool closed_ = false;
  std::optional<Error> error_;
  std::uint64_t sent_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace cm::migrate
