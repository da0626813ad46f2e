// Cross-cutting behaviour for any VectorStore, as decorators. They are composed in one place,
// common/run/store_factory.cpp; nothing else constructs them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/store/vector_store.hpp"

namespace cm {

// Shared counters for a run's summary.
struct StoreCounters {
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> calls{0};
};

struct RetryPolicy {
  int max_attempts = 6;  // first try included
  std::chrono::milliseconds base_delay{250};
  std::chrono::milliseconds max_delay{15000};
};

// Retries kTransient errors (connection failures, timeouts, 429, 5xx) with exponential backoff and
// full jitter; everything else passes through at once. Safe because every store operation is
// idempotent or its caller treats kAlreadyExists/kNotFound on a retry as success where it must.
class RetryingStore final : public ForwardingStore {
 public:
  RetryingStore(std::unique_ptr<VectorStore> inner, RetryPolicy policy,
                std::shared_ptr<StoreCounters> counters);

  Result<StoreLimits> limits() override;
  Result<std::vector<CollectionInfo>> list_collections() override;
  Result<std::optional<CollectionInfo>> find_collection(const std::string& name) override;
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status update_collection_metadata(const CollectionInfo& c, const Metadata& metadata) override;
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override;
  Result<std::uint64_t> count(const CollectionInfo& c) override;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& c, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& c,
                                          std::span<const std::string> ids) override;
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override;
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& c,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;

 private:
  template <typename F>
  auto with_retry(const char* op, F&& call) -> decltype(call());

  RetryPolicy policy_;
  std::shared_ptr<StoreCounters> counters_;
};

// Logs every call at debug level with its duration and size, and failures at warn level.
class LoggingStore final : public ForwardingStore {
 public:
  LoggingStore(std::unique_ptr<VectorStore> inner, std::string role);

  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override;
  Result<std::vector<std::string>> list_ids(const CollectionInfo& c, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& c,
                                          std::span<const std::string> ids) override;
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override;
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& c,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;

 private:
  std::string role_;
};

// Guarantees the source is never mutated: every write fails with kInternal before reaching the
// store. A write attempt is a bug in the caller, never something to retry. Reads, query included,
// pass through.
class ReadOnlyStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status update_collection_metadata(const CollectionInfo& c, const Metadata& metadata) override;
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override;
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override;
  Status flush() override { return ok_status(); }
};

}  // namespace cm
