// An in-memory VectorStore for unit tests: a fake that behaves like a real store (it passes the
// store conformance suite, tests/support/store_conformance.hpp) plus what tests need to steer it:
//
//   - per-call failures: fail("upsert", error, 2, 3) makes the 2nd and 3rd upsert fail with
//     `error` (1-based call numbers counted per operation, like CHROMA_MIGRATE_FAULTS); a failed
//     call changes nothing;
//   - call counts: calls("upsert"), writes() (mutating calls that reached the store, failed ones
//     included);
//   - a hook run before every call (outside the store's lock, so it may call the store itself),
//     to change the store under a caller's feet or to observe concurrency.
//
// Semantics follow the snapshot store where Chroma and snapshots differ: upsert replaces a record
// wholesale (no metadata merge), queries are exact (common/store/distance.hpp), ids are listed in
// insertion order. Collections get ids "mem-<n>" that survive renames. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::testing {

class MemoryStore final : public VectorStore {
 public:
  // Operation names, as FaultInjectingStore spells them.
  static constexpr std::string_view kOps[] = {"list_collections",
                                              "find_collection",
                                              "create_collection",
                                              "delete_collection",
                                              "update_collection_metadata",
                                              "rename_collection",
                                              "count",
                                              "list_ids",
                                              "get_records",
                                              "upsert",
                                              "delete_records",
                                              "remove_metadata_keys",
                                              "query",
                                              "flush"};

  explicit MemoryStore(std::string name = "memory", StoreLimits limits = {});

  // --- steering ---
  // Calls first..last (1-based, per operation) of `op` fail with `error` and change nothing.
  void fail(const std::string& op, Error error, std::uint64_t first = 1,
            std::uint64_t last = 0 /* 0 = same as first */);
  void clear_failures();
  // Called with (op, call number) before each call, outside the lock.
  void set_hook(std::function<void(std::string_view op, std::uint64_t call)> hook);
  std::uint64_t calls(std::string_view op) const;
  // Starts counting (and numbering calls for fail()) from zero again, e.g. after seeding.
  void reset_calls();
  std::uint64_t writes() const;  // create/delete/update/rename collection, upsert, delete_records
  // The current records of a collection, sorted by id (empty when there is no such collection).
  std::vector<Record> records_of(const std::string& collection) const;

  // --- VectorStore ---
  std::string describe() const override { return "memory:" + name_; }
  Result<StoreLimits> limits() override { return limits_; }
  Result<std::vector<CollectionInfo>> list_collections() override;
  Result<std::optional<CollectionInfo>> find_collection(const std::string& name) override;
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status update_collection_metadata(const CollectionInfo& collection,
                                    const Metadata& metadata) override;
  Status rename_collection(const CollectionInfo& collection, const std::string& new_name) override;
  Result<std::uint64_t> count(const CollectionInfo& collection) override;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& collection, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                          std::span<const std::string> ids) override;
  Status upsert(const CollectionInfo& collection, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& collection,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& collection,
                        std::span<const std::string> ids) override;
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& collection,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;
  Status flush() override;

 private:
  struct Collection {
    CollectionInfo info;
    std::vector<std::string> order;  // ids in insertion order
    std::map<std::string, Record> records;
  };
  struct Failure {
    std::string op;
    Error error;
    std::uint64_t first, last;
  };

  // Counts the call, runs the hook, and returns the injected failure for it, if any.
  Status enter(std::string_view op);
  // Callers hold mu_. kNotFound when `c` names no collection (or one with another id).
  Result<Collection*> lookup_locked(const CollectionInfo& c);

  const std::string name_;
  const StoreLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, Collection> collections_;  // by name
  std::uint64_t next_id_ = 1;
  std::map<std::string, std::uint64_t, std::less<>> calls_;
  std::vector<Failure> failures_;
  std::function<void(std::string_view, std::uint64_t)> hook_;
};

}  // namespace cm::testing
