// The VectorStore contract (tests/support/store_conformance.cpp) without a server: the snapshot
// store, plain and through the factory's decorator stack, and the unit tests' memory fake, plain
// and behind retry + audit + logging decorators (so the auditing decorator is shown to forward
// every call faithfully). Read-only: a sealed snapshot, and a Chroma persist directory written by
// the real pinned server (tests/data/persist/conformance-1.0.5.tar.gz, made by
// tests/tools/make_persist_fixture.cpp), plain and as the factory opens a source. The Chroma HTTP
// store runs the same checks in tests/integration/store_conformance_test.cpp.
#include "tests/support/store_conformance.hpp"

#include "common/persist/persist_store.hpp"
#include "common/run/store_factory.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/store/audit_log.hpp"
#include "common/store/store_decorators.hpp"
#include "tests/support/memory_store.hpp"
#include "tests/unit/persist_test_util.hpp"

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

// The fixture written into a snapshot, sealed, and reopened for reading.
StoreFactory snapshot_read_only() {
  return {"snapshot_read_only",
          [](const std::string&,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            {
              CM_ASSIGN_OR_RETURN(auto writer,
                                  SnapshotStore::open(dir / "snap", SnapshotStore::Mode::kWrite));
              CM_RETURN_IF_ERROR(write_read_only_fixture(*writer));
            }
            CM_ASSIGN_OR_RETURN(auto snap,
                                SnapshotStore::open(dir / "snap", SnapshotStore::Mode::kRead));
            return std::unique_ptr<VectorStore>(std::move(snap));
          },
          true};
}

StoreFactory persist_plain() {
  return {"persist",
          [](const std::string&,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto persist_dir, persist_test::unpack_persist_fixture(dir));
            CM_ASSIGN_OR_RETURN(auto store, PersistStore::open(persist_dir, {}));
            return std::unique_ptr<VectorStore>(std::move(store));
          },
          true};
}

StoreFactory persist_source() {
  return {"persist_source",
          [](const std::string&,
             const std::filesystem::path& dir) -> Result<std::unique_ptr<VectorStore>> {
            CM_ASSIGN_OR_RETURN(auto persist_dir, persist_test::unpack_persist_fixture(dir));
            CM_ASSIGN_OR_RETURN(auto uri, parse_store_uri("persist:" + persist_dir.string()));
            StoreOpenOptions options;
            options.scratch_dir = dir / "work" / "tmp";
            return open_store(uri, StoreRole::kSource, options);
          },
          true};
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(snapshot_plain(), snapshot_decorated(), memory_plain(),
                                           memory_decorated(), snapshot_read_only(),
                                           persist_plain(), persist_source()),
                         store_factory_name);

}  // namespace
}  // namespace cm::testing
