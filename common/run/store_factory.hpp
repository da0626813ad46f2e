// The one place where stores are built and decorated. Roles:
//   source  a store the run reads (read-only)
//   target  the store the run writes (audited when given an audit log)
//   work    a snapshot in the run's work directory (snapshots/source, transformed, backup,
//           archive: common/run/work_dir.hpp), opened with open_work_snapshot(); never audited
//           (it is the run's own copy, not the target) and never read-only (its writer seals it)
// The role is also the logging name and the fault-injection role (CHROMA_MIGRATE_FAULTS
// "work.upsert=transient@1", see common/store/fault_injection.hpp).
//
// A persist directory (persist:DIR, common/persist/persist_store.hpp) is a source only: it is
// refused as a target (and as a work store) before anything is opened.
//
// Composition, innermost first:
//   base store (HTTP server, snapshot directory or persist directory)
//   -> FaultInjectingStore (tests only: CHROMA_MIGRATE_FAULTS; faults look like server faults)
//   -> RetryingStore       (transient failures: backoff with jitter)
//   -> AuditingStore       (targets with an audit log: one JSON line per mutating call, after
//   retries)
//   -> LoggingStore        (debug trace of every call)
//   -> ReadOnlyStore       (sources, and targets of a dry run: any write is refused in-process)
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/persist/persist_store.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/audit_log.hpp"
#include "common/store/store_decorators.hpp"
#include "common/store/uri.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

enum class StoreRole { kSource, kTarget, kWork };

// Credentials per store. As read from the environment (cli_environment()): `shared` is
// CHROMA_TOKEN, `source` CHROMA_SOURCE_TOKEN, `target` CHROMA_TARGET_TOKEN. After
// resolve_store_tokens(): `source` / `target` are what is sent to that store, `shared` is unset.
struct StoreTokens {
  std::optional<std::string> shared;
  std::optional<std::string> source;
  std::optional<std::string> target;
};

// scheme://host:port of an HTTP store (lower-cased, default port filled in, no user:password or
// path prefix); "" for a snapshot. Two stores with one origin are one server (one trust domain).
std::string store_origin(const StoreUri& uri);

// Which token each store of a run gets (nullptr: the run does not contact that store):
//   - a store's own variable (CHROMA_SOURCE_TOKEN / CHROMA_TARGET_TOKEN) is sent to it only;
//   - CHROMA_TOKEN fills in for a store without its own when every HTTP store of the run is on
//     one origin (or only one store is an HTTP store);
//   - CHROMA_TOKEN with two HTTP stores on different origins, where either lacks its own token,
//     is refused (kInvalidArgument: usage, exit 2), before anything connects: one secret is
//     never sent to two servers. When both have their own, CHROMA_TOKEN is not used.
// Snapshot stores get no token. Returns no error for a token-less run.
Result<StoreTokens> resolve_store_tokens(const StoreTokens& env, const StoreUri* source,
                                         const StoreUri* target);

struct StoreOpenOptions {
  std::optional<std::string> token;  // sent to this HTTP store (resolve_store_tokens())
  RetryPolicy retry;
  std::shared_ptr<StoreCounters> counters;
  std::string fault_spec;           // CHROMA_MIGRATE_FAULTS
  std::shared_ptr<AuditLog> audit;  // targets: where mutations are recorded
  bool dry_run = false;             // targets: refuse every write (the plan must not write)
  // Where a store that needs private scratch files makes them (a persist directory's copy of
  // chroma.sqlite3): the run's work directory when there is one; empty: the system temp dir.
  std::filesystem::path scratch_dir;
  // A persist directory source: leave the records whose vector cannot be recovered out of every
  // answer instead of failing on them (PersistStoreOptions::skip_unrecoverable). Whoever sets it
  // must have listed them first (PersistStore::unrecoverable_ids).
  bool skip_unrecoverable = false;
  // Sources: at most this many records read per second on average (ThrottledStore); 0: no limit.
  double max_records_per_second = 0;
};

// kWork: the URI must name a snapshot directory; it is opened for writing (use
// open_work_snapshot() to read a sealed one or to reach the snapshot's own methods).
Result<std::unique_ptr<VectorStore>> open_store(const StoreUri& uri, StoreRole role,
                                                const StoreOpenOptions& options);

// A source opened through the factory (role kSource), with the persist store under its decorators
// when the URI names a persist directory (nullptr otherwise; owned by `store`), for what only it
// can tell: its health and the records whose vector is lost.
struct SourceStore {
  std::unique_ptr<VectorStore> store;
  PersistStore* persist = nullptr;
};
Result<SourceStore> open_source_store(const StoreUri& uri, const StoreOpenOptions& options);

// A work-directory snapshot opened through the factory. Every VectorStore call goes through
// `store` (fault injection under role "work", retry, logging); `snapshot` is the same snapshot
// undecorated, owned by `store`, for what only a snapshot has: set_description,
// create_collection_from, sealed/manifest, part_count/read_part and verify. Those are local file
// operations the decorators have nothing to add to.
struct WorkSnapshot {
  std::unique_ptr<VectorStore> store;
  SnapshotStore* snapshot = nullptr;
};

// options.audit and options.dry_run are ignored (a work snapshot is neither audited nor
// read-only; kRead opens a sealed snapshot that refuses writes itself).
Result<WorkSnapshot> open_work_snapshot(const std::filesystem::path& dir, SnapshotStore::Mode mode,
                                        const StoreOpenOptions& options);

}  // namespace cm
