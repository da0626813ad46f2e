// The one place where stores are built and decorated. Composition, innermost first:
//   base store (HTTP server or snapshot directory)
//   -> FaultInjectingStore (tests only: CHROMA_MIGRATE_FAULTS; faults look like server faults)
//   -> RetryingStore       (transient failures: backoff with jitter)
//   -> LoggingStore        (debug trace of every call)
//   -> ReadOnlyStore       (sources only: any write is refused before it leaves the process)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/store_decorators.hpp"
#include "common/uri.hpp"
#include "common/vector_store.hpp"

namespace cm {

enum class StoreRole { kSource, kTarget };

struct StoreOpenOptions {
  std::optional<std::string> token;  // sent to HTTP stores
  RetryPolicy retry;
  std::shared_ptr<StoreCounters> counters;
  std::string fault_spec;  // CHROMA_MIGRATE_FAULTS
};

Result<std::unique_ptr<VectorStore>> open_store(const StoreUri& uri, StoreRole role,
                                                const StoreOpenOptions& options);

}  // namespace cm
