// The VectorStore contract (tests/support/store_conformance.cpp) without a server: the snapshot
// store, plain and through the factory's decorator stack, and the unit tests' memory fake, plain
// and behind retry + audit + logging decorators (so the auditing decorator is shown to forward
// every call faithfully). The Chroma HTTP store runs the same checks in
// tests/integration/store_conformance_test.cpp.
#include "tests/support/store_conformance.hpp"

#include "common/run/store_factory.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/audit_log.hpp"
#include "common/store/store_decorators.hpp"
#include "tests/support/memory_store.hpp"

namespace cm::testing {
namespace {

StoreFactory snapshot_plain() {
  return {"snapshot",
          [](const std::string&,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto snap,
                                SnapshotStore::open(dir / "snap", SnapshotStore::Mode::kWrite));
            return std::unique_ptr<VectorStore>(std::move(snap));
          }};
}

StoreFactory snapshot_decorated() {
  return {"snapshot_decorated",
          [](const std::string&,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto uri, parse_store_uri("snapshot:" + (dir / "snap").string()));
            return open_store(uri, StoreRole::kTarget, {});
          }};
}

StoreFactory memory_plain() {
  return {
      "memory",
      [](const std::string&, const std::filesystem::path&) -> Result<std::unique_ptr<VectorStore>> {
        return std::unique_ptr<VectorStore>(std::make_unique<MemoryStore>());
      }};
}

StoreFactory memory_decorated() {
  return {"memory_decorated",
          [](const std::string& unique,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            std::unique_ptr<VectorStore> store = std::make_unique<MemoryStore>();
            store = std::make_unique<RetryingStore>(std::move(store), RetryPolicy{}, nullptr);
            store = std::make_unique<AuditingStore>(std::move(store),
                                                    AuditLog::open(dir / "audit.jsonl", unique));
            return std::unique_ptr<VectorStore>(
                std::make_unique<LoggingStore>(std::move(store), "target"));
          }};
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(snapshot_plain(), snapshot_decorated(), memory_plain(),
                                           memory_decorated()),
                         store_factory_name);

}  // namespace
}  // namespace cm::testing
