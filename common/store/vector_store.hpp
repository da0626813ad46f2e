// One interface for every vector store the suite reads or writes: a Chroma HTTP server, a snapshot
// directory, and later a persist directory read offline. Cross-cutting behaviour (retry, logging,
// dry-run, fault injection) is layered on with decorators (common/store/store_decorators.hpp),
// composed in one place (common/run/store_factory.hpp).
// tests/support/store_conformance.hpp holds the contract every implementation passes (run without a
// server for the snapshot and memory stores, against a real Chroma for the HTTP store).
//
// Thread safety: every method may be called concurrently from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm {

struct StoreLimits {
  std::size_t max_batch_size = 1000;  // most records one upsert/get may carry
  bool supports_base64 = false;       // upsert accepts base64 little-endian float32 embeddings
};

// One nearest-neighbour answer: a record id and its distance to the query in the collection's
// space (common/store/distance.hpp has the definitions).
struct QueryHit {
  std::string id;
  float distance = 0;

  bool operator==(const QueryHit&) const = default;
};

// One record's metadata keys for remove_metadata_keys().
struct MetadataKeyRemoval {
  std::string id;
  std::vector<std::string> keys;

  bool operator==(const MetadataKeyRemoval&) const = default;
};

class VectorStore {
 public:
  virtual ~VectorStore() = default;

  // Human-readable location with credentials redacted, for logs and reports.
  virtual std::string describe() const = 0;
  virtual Result<StoreLimits> limits() = 0;

  virtual Result<std::vector<CollectionInfo>> list_collections() = 0;
  // nullopt when no collection has that name.
  virtual Result<std::optional<CollectionInfo>> find_collection(const std::string& name) = 0;
  // Fails with kAlreadyExists when the name is taken (never get-or-create: callers decide).
  virtual Result<CollectionInfo> create_collection(const CollectionSpec& spec) = 0;
  virtual Status delete_collection(const std::string& name) = 0;
  // Replaces the collection's metadata wholesale (its configuration is unchanged).
  virtual Status update_collection_metadata(const CollectionInfo& collection,
                                            const Metadata& metadata) = 0;
  // Gives the collection a new name; its id, configuration, metadata and records are unchanged.
  // kAlreadyExists when `new_name` is taken, kNotFound when the collection is gone. Not atomic
  // across a crash from the caller's point of view: a caller that must know whether a rename
  // landed looks the collection up by both names and compares ids (migrate's cutover does).
  virtual Status rename_collection(const CollectionInfo& collection,
                                   const std::string& new_name) = 0;

  virtual Result<std::uint64_t> count(const CollectionInfo& collection) = 0;
  // One page of ids in the store's own order. A page shorter than `limit` is the last one. Offsets
  // shift when records are deleted meanwhile, so callers use this for id scans only and fetch the
  // data itself by explicit ids.
  virtual Result<std::vector<std::string>> list_ids(const CollectionInfo& collection,
                                                    std::uint64_t offset, std::uint32_t limit) = 0;
  // The records with these ids, in no particular order; ids that do not exist are left out.
  virtual Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                                  std::span<const std::string> ids) = 0;
  // Inserts or replaces records by id. Idempotent: sending the same batch twice leaves the same
  // state. Caveat: Chroma MERGES metadata on upsert (keys absent from the new record survive) and
  // keeps the old document when the new one is null; callers that need an exact replacement of an
  // existing record remove the stale keys afterwards (remove_metadata_keys; see migrate's merge
  // mode). Snapshot and memory stores replace the record wholesale.
  virtual Status upsert(const CollectionInfo& collection, std::span<const Record> records) = 0;
  // Removes the named metadata keys from existing records; every other key and field stays as it
  // is. Chroma: POST /collections/{id}/update with those keys set to null (the only call that
  // removes a key). Ids that do not exist are skipped; a key the record lacks is no error.
  virtual Status remove_metadata_keys(const CollectionInfo& collection,
                                      std::span<const MetadataKeyRemoval> removals) = 0;
  virtual Status delete_records(const CollectionInfo& collection,
                                std::span<const std::string> ids) = 0;
  // The k nearest records to each query embedding, one list per embedding in the same order,
  // ascending by distance, in the collection's own space with Chroma's definitions (l2: squared
  // euclidean; cosine: 1 - cosine similarity; ip: 1 - dot product). A list is shorter than k when
  // the collection holds fewer records. Servers answer from their (approximate) HNSW index;
  // snapshots answer exactly. A read: it never changes the store. An embedding whose dimension
  // differs from the collection's is an error (kRejected from servers, kInvalidArgument else).
  virtual Result<std::vector<std::vector<QueryHit>>> query(
      const CollectionInfo& collection, std::span<const std::vector<float>> embeddings,
      std::size_t k) = 0;

  // Makes everything written so far durable and self-describing (a snapshot writes its manifest).
  virtual Status flush() { return ok_status(); }
};

// Forwards every call to an inner store; decorators derive from it and override what they change.
class ForwardingStore : public VectorStore {
 public:
  explicit ForwardingStore(std::unique_ptr<VectorStore> inner) : inner_(std::move(inner)) {}

  std::string describe() const override { return inner_->describe(); }
  Result<StoreLimits> limits() override { return inner_->limits(); }
  Result<std::vector<CollectionInfo>> list_collections() override {
    return inner_->list_collections();
  }
  Result<std::optional<CollectionInfo>> find_collection(const std::string& name) override {
    return inner_->find_collection(name);
  }
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override {
    return inner_->create_collection(spec);
  }
  Status delete_collection(const std::string& name) override {
    return inner_->delete_collection(name);
  }
  Status update_collection_metadata(const CollectionInfo& c, const Metadata& metadata) override {
    return inner_->update_collection_metadata(c, metadata);
  }
  Status rename_collection(const CollectionInfo& c, const std::string& new_name) override {
    return inner_->rename_collection(c, new_name);
  }
  Result<std::uint64_t> count(const CollectionInfo& c) override { return inner_->count(c); }
  Result<std::vector<std::string>> list_ids(const CollectionInfo& c, std::uint64_t offset,
                                            std::uint32_t limit) override {
    return inner_->list_ids(c, offset, limit);
  }
  Result<std::vector<Record>> get_records(const CollectionInfo& c,
                                          std::span<const std::string> ids) override {
    return inner_->get_records(c, ids);
  }
  Status upsert(const CollectionInfo& c, std::span<const Record> records) override {
    return inner_->upsert(c, records);
  }
  Status remove_metadata_keys(const CollectionInfo& c,
                              std::span<const MetadataKeyRemoval> removals) override {
    return inner_->remove_metadata_keys(c, removals);
  }
  Status delete_records(const CollectionInfo& c, std::span<const std::string> ids) override {
    return inner_->delete_records(c, ids);
  }
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& c,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override {
    return inner_->query(c, embeddings, k);
  }
  Status flush() override { return inner_->flush(); }

 protected:
  VectorStore& inner() { return *inner_; }

 private:
  std::unique_ptr<VectorStore> inner_;
};

}  // namespace cm
