#include "common/run/store_factory.hpp"

#include "common/chroma/chroma_http_store.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/fault_injection.hpp"

namespace cm {
namespace {

const char* role_name(StoreRole role) {
  switch (role) {
    case StoreRole::kSource:
      return "source";
    case StoreRole::kTarget:
      return "target";
    case StoreRole::kWork:
      return "work";
  }
  return "?";
}

Result<std::unique_ptr<VectorStore>> open_base(const StoreUri& uri, StoreRole role,
                                               const StoreOpenOptions& options) {
  if (role == StoreRole::kWork && uri.kind != StoreUri::Kind::kSnapshot) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a work-directory store must be a snapshot, not " + uri.redacted());
  }
  if (uri.kind == StoreUri::Kind::kSnapshot) {
    auto mode =
        role == StoreRole::kSource ? SnapshotStore::Mode::kRead : SnapshotStore::Mode::kWrite;
    CM_ASSIGN_OR_RETURN(auto snapshot, SnapshotStore::open(uri.snapshot_dir, mode));
    return std::unique_ptr<VectorStore>(std::move(snapshot));
  }
  ChromaHttpStoreOptions http;
  http.token = options.token;
  CM_ASSIGN_OR_RETURN(auto store, ChromaHttpStore::open(uri, http));
  // A target may name a database that does not exist yet; creating an empty one is idempotent.
  if (role == StoreRole::kTarget && !options.dry_run &&
      (uri.tenant != "default_tenant" || uri.database != "default_database")) {
    CM_RETURN_IF_ERROR(store->ensure_database());
  }
  return std::unique_ptr<VectorStore>(std::move(store));
}

// The decorators, innermost first (see the header).
Result<std::unique_ptr<VectorStore>> decorate(std::unique_ptr<VectorStore> store, StoreRole role,
                                              const StoreOpenOptions& options) {
  if (!options.fault_spec.empty()) {
    CM_ASSIGN_OR_RETURN(auto rules, parse_fault_spec(options.fault_spec));
    std::erase_if(rules, [&](const FaultRule& r) { return r.role != role_name(role); });
    if (!rules.empty())
      store = std::make_unique<FaultInjectingStore>(std::move(store), std::move(rules));
  }
  store = std::make_unique<RetryingStore>(std::move(store), options.retry, options.counters);
  if (role == StoreRole::kTarget && options.audit) {
    store = std::make_unique<AuditingStore>(std::move(store), options.audit);
  }
  store = std::make_unique<LoggingStore>(std::move(store), role_name(role));
  if (role == StoreRole::kSource || (role == StoreRole::kTarget && options.dry_run))
    store = std::make_unique<ReadOnlyStore>(std::move(store));
  return store;
}

}  // namespace

Result<std::unique_ptr<VectorStore>> open_store(const StoreUri& uri, StoreRole role,
                                                const StoreOpenOptions& options) {
  CM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> store, open_base(uri, role, options));
  return decorate(std::move(store), role, options);
}

Result<WorkSnapshot> open_work_snapshot(const std::filesystem::path& dir, SnapshotStore::Mode mode,
                                        const StoreOpenOptions& options) {
  CM_ASSIGN_OR_RETURN(auto snapshot, SnapshotStore::open(dir, mode));
  WorkSnapshot out;
  out.snapshot = snapshot.get();
  CM_ASSIGN_OR_RETURN(out.store, decorate(std::unique_ptr<VectorStore>(std::move(snapshot)),
                                          StoreRole::kWork, options));
  return out;
}

}  // namespace cm
