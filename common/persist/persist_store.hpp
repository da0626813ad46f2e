// A Chroma persist directory (what `chroma run --path DIR` and PersistentClient write) read
// offline as a VectorStore: `--source persist:DIR[?tenant=T&database=D]`. Read-only: every write
// returns kInvalidArgument, and nothing is ever written into DIR (the SQLite database is read from
// a private copy, common/persist/sqlite_copy.hpp; the HNSW files are opened O_RDONLY).
//
// What a record is made of:
//   ids, documents, uris, metadata  the SQLite metadata segment (embeddings, embedding_metadata;
//                                   the document is key chroma:document, the uri chroma:uri)
//   vectors                         the HNSW segment's files (common/persist/hnsw_segment.hpp),
//                                   mapped to ids by index_metadata.pickle
//   both, for the newest writes     embeddings_queue rows past each segment's max_seq_id,
//                                   replayed in order (common/persist/queue_overlay.hpp)
// Vectors of cosine collections come back as stored * norm (within 2 ulp of what the client sent)
// when they come from the segment, and exactly as sent when they come from the queue.
//
// The directory is assumed not to change while it is read: its database is copied once, at
// open(), and the HNSW files are read in place. A server still writing to it is refused when the
// database changes during the copy, not detected afterwards.
//
// Memory per collection, built on first use: O(ids the queue holds) + one rowid per 1024 records
// (count, list_ids); about 50 bytes plus the id per vector-segment record (get_records, query).
// list_ids order: the metadata segment's row order, then queue-only records in queue order.
//
// Thread-safe: SQLite reads are serialised by one mutex; the HNSW files are read with pread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/persist/persist_catalog.hpp"
#include "common/persist/sqlite_copy.hpp"
#include "common/persist/sqlite_db.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

struct PersistStoreOptions {
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  // Where the private copy of chroma.sqlite3 is made (a fresh directory under it, removed when the
  // store closes): the run's work directory when there is one, else the system temp directory.
  std::filesystem::path scratch_parent;
};

class PersistStore final : public VectorStore {
 public:
  static constexpr std::size_t kMaxBatchSize = 10000;

  // Copies the database, checks it is a Chroma persist directory and reads the collections of
  // the tenant and database. Errors: kInvalidArgument (no such directory, not a persist
  // directory), kNotFound (no such tenant/database), kCorruption (damaged catalog), kVerifyFailed
  // (the database kept changing: a server is running on it), kIo.
  static Result<std::unique_ptr<PersistStore>> open(const std::filesystem::path& dir,
                                                    const PersistStoreOptions& options);
  ~PersistStore() override;

  std::string describe() const override;  // persist:DIR[?tenant=T&database=D]
  Result<StoreLimits> limits() override;

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
  // kCorruption naming the id when a record's vector is neither in the segment nor in the queue.
  Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                          std::span<const std::string> ids) override;
  Status upsert(const CollectionInfo& collection, std::span<const Record> records) override;
  Status remove_metadata_keys(const CollectionInfo& collection,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& collection,
                        std::span<const std::string> ids) override;
  // Exact brute force over every live vector (common/store/distance.hpp); ties by id.
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& collection,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;

 private:
  struct State;
  PersistStore(std::filesystem::path dir, PersistStoreOptions options, SqliteCopy copy,
               SqliteDb db);
  Status refuse_write(const char* what) const;
  // The collection's state, built on first use; callers hold mu_.
  Result<State*> state_locked(const CollectionInfo& collection);
  Status query_queue_vectors(
      State& state, const std::function<void(const std::string&, std::span<const float>)>& fn);

  const std::filesystem::path dir_;
  const PersistStoreOptions options_;
  SqliteCopy copy_;  // declared before db_: the connection closes before the copy is removed
  SqliteDb db_;
  PersistSchema schema_;
  std::vector<PersistCollection> collections_;
  std::mutex mu_;                                         // guards db_ and states_
  std::map<std::string, std::unique_ptr<State>> states_;  // by collection id
};

}  // namespace cm
