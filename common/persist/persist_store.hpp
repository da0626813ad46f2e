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
// open(), and the HNSW files are read in place. An archive (persist:backup.tar.gz, .tar, .tgz) is
// unpacked first under scratch_parent and read from there (common/persist/persist_archive.hpp). A
// server still writing to it is refused when the database changes during the copy, not detected
// afterwards.
//
// Damage (common/persist/vector_view.hpp) never fails a collection: each vector is taken from
// wherever it still exists (segment, or any surviving queue row), and the live records whose
// vector is nowhere are "unrecoverable": listed by unrecoverable_ids() and health(). By default
// get_records fails (kCorruption naming the id and the count) when asked for one; with
// skip_unrecoverable they are left out everywhere (count, list_ids, get_records, query), as if
// they did not exist, so an export of the store holds exactly the readable records.
//
// Memory per collection, built on first use: O(ids the queue holds) + one rowid per 1024 records
// (count, list_ids); about 60 bytes plus the id per vector-segment record (get_records, query);
// the unrecoverable ids. list_ids order: the metadata segment's row order, then queue-only records
// in queue order.
//
// Thread-safe: catalog reads and building a collection's state are serialised by one mutex;
// get_records reads a built state through a connection of its own (a small pool on the same
// private copy), so workers fetch in parallel; the HNSW files are read with pread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/persist/persist_archive.hpp"
#include "common/persist/persist_catalog.hpp"
#include "common/persist/persist_health.hpp"
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
  // Leave the records whose vector cannot be recovered out of every answer (see above) instead of
  // failing get_records on them: chroma-migrate --allow-missing-vectors.
  bool skip_unrecoverable = false;
};

// A tenant and database of a persist directory.
struct PersistDatabase {
  std::string tenant;
  std::string database;
};

class PersistStore final : public VectorStore {
 public:
  static constexpr std::size_t kMaxBatchSize = 10000;

  // Copies the database, checks it is a Chroma persist directory and reads the collections of
  // the tenant and database. An empty options.tenant opens the directory without a database (no
  // collections): for databases(), orphan_segment_folders() and open_database(). Errors:
  // kInvalidArgument (no such directory, not a persist directory), kNotFound (no such
  // tenant/database), kCorruption (damaged catalog), kVerifyFailed (the database kept changing: a
  // server is running on it), kIo.
  static Result<std::unique_ptr<PersistStore>> open(const std::filesystem::path& dir,
                                                    const PersistStoreOptions& options);
  // The same directory's `tenant` / `database`, read from this store's copy of the database (no
  // second copy). Errors as open().
  Result<std::unique_ptr<PersistStore>> open_database(const std::string& tenant,
                                                      const std::string& database) const;
  ~PersistStore() override;

  // Every tenant and database the directory holds (default_tenant / default_database alone before
  // 0.4.15), sorted.
  Result<std::vector<PersistDatabase>> databases() const;
  // Folders of the directory that no segment of any collection (of any database) names.
  Result<std::vector<std::string>> orphan_segment_folders() const;
  // The collection's health (common/persist/persist_health.hpp); builds its state.
  Result<PersistCollectionHealth> health(const CollectionInfo& collection);
  // Every live record of the collection whose vector is neither in the segment nor in the queue,
  // in list_ids order (with skip_unrecoverable: the records left out).
  Result<std::vector<std::string>> unrecoverable_ids(const CollectionInfo& collection);

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
  // kCorruption naming the id when a record's vector is neither in the segment nor in the queue
  // (unless skip_unrecoverable).
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
  // What the store reads, shared with the stores open_database() makes. Members are destroyed in
  // reverse order: the copy of the database before the unpacked archive it was copied from.
  struct Files {
    std::filesystem::path
        data;  // chroma.sqlite3 and the segment folders: DIR, or the unpacked copy
    std::shared_ptr<const UnpackedArchive> unpacked;  // null unless the URI names an archive
    std::shared_ptr<const SqliteCopy> copy;
  };
  PersistStore(std::filesystem::path dir, PersistStoreOptions options, Files files, SqliteDb db);
  static Result<std::unique_ptr<PersistStore>> open_on(const std::filesystem::path& dir,
                                                       const PersistStoreOptions& options,
                                                       Files files);
  Status refuse_write(const char* what) const;
  // The collection's state, built on first use; callers hold mu_.
  Result<State*> state_locked(const CollectionInfo& collection);
  Result<std::unique_ptr<State>> build_state(const PersistCollection& collection);
  // Finds the records whose vector is nowhere, after looking in every surviving queue row.
  Status find_unrecoverable(State& state);
  std::unexpected<Error> no_vector_error(const State& state, const std::string& id) const;
  // get_records' work on a built state, through `db` (a connection the caller holds alone).
  Result<std::vector<Record>> fetch_records(const State& state, const SqliteDb& db,
                                            std::span<const std::string> ids) const;
  Status query_queue_vectors(
      State& state, const std::function<void(const std::string&, std::span<const float>)>& fn);

  const std::filesystem::path dir_;  // as the URI names it: a directory or an archive
  const PersistStoreOptions options_;
  // Declared before db_: the connection closes before the last owner removes the copy.
  Files files_;
  SqliteDb db_;
  PersistSchema schema_;
  std::vector<PersistCollection> collections_;
  std::mutex mu_;                                         // guards db_ and states_
  std::map<std::string, std::unique_ptr<State>> states_;  // by collection id
  // Idle connections for get_records (at most one per concurrent caller, opened on demand).
  Result<SqliteDb> take_reader();
  void give_back_reader(SqliteDb db);
  std::mutex readers_mu_;
  std::vector<SqliteDb> idle_readers_;
};

}  // namespace cm
