// The one place where stores are built and decorated. Composition, innermost first:
//   base store (HTTP server or snapshot directory)
//   -> FaultInjectingStore (tests only: CHROMA_MIGRATE_FAULTS; faults look like server faults)
//   -> RetryingStore       (transient failures: backoff with jitter)
//   -> AuditingStore       (targets with an audit log: one JSON line per mutating call, after
//   retries)
//   -> LoggingStore        (debug trace of every call)
//   -> ReadOnlyStore       (sources, and targets of a dry run: any write is refused in-process)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/store/audit_log.hpp"
#include "common/store/store_decorators.hpp"
#include "common/store/uri.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

enum class StoreRole { kSource, kTarget };

struct StoreOpenOptions {
  std::optional<std::string> token;  // sent to HTTP stores
  RetryPolicy retry;
  std::shared_ptr<StoreCounters> counters;
  std::string fault_spec;           // CHROMA_MIGRATE_FAULTS
  std::shared_ptr<AuditLog> audit;  // targets: where mutations are recorded
  bool dry_run = false;             // targets: refuse every write (the plan must not write)
};

Result<std::unique_ptr<VectorStore>> open_store(const StoreUri& uri, StoreRole role,
                                                const StoreOpenOptions& options);

}  // namespace cm
