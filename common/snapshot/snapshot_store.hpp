// A snapshot: an on-disk export of collections, written by `migrate` from the source server, read
// back to import into the target, kept as the backup that rollback restores and the reference that
// validation compares against. Layout, binary format and digests: docs/snapshot-format.md.
//
// Life cycle: open(kWrite) -> create_collection* -> upsert* (any thread) -> flush() seals it by
// writing manifest.json last -> open(kRead) anywhere later. Every write (create, upsert, delete)
// first removes manifest.json durably, so a reader never sees a manifest that does not describe
// the files next to it. Reopening an unsealed (or sealed) snapshot with kWrite resumes an
// interrupted export: upsert is idempotent because a batch always lands in the same part file.
//
// One process writes a snapshot at a time; within it every method is thread-safe. Upserts into the
// same collection run concurrently (encoding and file writes happen outside the lock); flush,
// delete_records and delete_collection wait for them and exclude them.
//
// Memory: upsert and list_ids on a sealed snapshot need O(parts), not O(records). These need
// O(records) (about 20-24 bytes per record: 128-bit id hashes in flat arrays, never the id
// strings):
//   - flush(), to find ids written to more than one part and to compute the content digest;
//   - get_records(), which lazily builds an id -> part index per collection (kept until the next
//     write), plus the decoded form of the last few parts it read;
//   - count() and list_ids() before the snapshot is sealed (they must dedupe across parts);
//   - verify(), to check that no id occurs twice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/snapshot/snapshot_format.hpp"
#include "common/snapshot/snapshot_manifest.hpp"
#include "common/store/vector_store.hpp"

namespace cm {

struct VerifyProblem {
  std::string collection;  // empty for snapshot-wide problems
  std::string file;        // relative to the snapshot directory, e.g. collections/a/part-....rec
  std::string message;
};

struct VerifyReport {
  std::vector<VerifyProblem> problems;  // every problem found, not just the first
  std::uint64_t collections_checked = 0;
  std::uint64_t parts_checked = 0;
  std::uint64_t records_checked = 0;
  bool ok() const { return problems.empty(); }
  // One "\n  <file>: <message>" line per problem, for error messages.
  std::string problem_lines() const {
    std::string out;
    for (const auto& p : problems) out += "\n  " + p.file + ": " + p.message;
    return out;
  }
};

// Checks a sealed snapshot directory against its manifest: every listed part exists with the
// listed size and XXH3-64, decodes (which checks every record digest) with the listed record count
// and the collection's dimension; per collection, record_count and content_digest match, no id
// occurs twice, collection.json agrees, and no part file or collection folder is unlisted.
// Fails (instead of reporting) only when the directory is not a sealed snapshot.
Result<VerifyReport> verify_snapshot(const std::filesystem::path& dir);

// Delta generations (snapshot_generations.hpp): opened kRead, a snapshot with committed deltas
// reads as one snapshot, the base with every delta applied; every read below (count, list_ids,
// get_records, query, the part reads, manifest's record counts, verify) sees that state. Opened
// kWrite, a directory is only ever its own generation.
class SnapshotStore final : public VectorStore {
 public:
  enum class Mode {
    kRead,   // requires a sealed snapshot; every write fails with kInvalidArgument
    kWrite,  // creates the directory if missing; reopens unsealed or sealed snapshots
  };
  static constexpr std::size_t kMaxBatchSize = 100000;

  static Result<std::unique_ptr<SnapshotStore>> open(const std::filesystem::path& dir, Mode mode);
  ~SnapshotStore() override;

  std::string describe() const override;
  Result<StoreLimits> limits() override;

  Result<std::vector<CollectionInfo>> list_collections() override;
  Result<std::optional<CollectionInfo>> find_collection(const std::string& name) override;
  // Records spec.hnsw as configuration {"hnsw": ...}; the id stays empty.
  Result<CollectionInfo> create_collection(const CollectionSpec& spec) override;
  Status delete_collection(const std::string& name) override;
  Status update_collection_metadata(const CollectionInfo& collection,
                                    const Metadata& metadata) override;
  // Renames the collection's folder and rewrites its collection.json (parts are unchanged).
  Status rename_collection(const CollectionInfo& collection, const std::string& new_name) override;

  Result<std::uint64_t> count(const CollectionInfo& collection) override;
  // Ids in manifest part order (part file names sorted), then record order within a part.
  Result<std::vector<std::string>> list_ids(const CollectionInfo& collection, std::uint64_t offset,
                                            std::uint32_t limit) override;
  Result<std::vector<Record>> get_records(const CollectionInfo& collection,
                                          std::span<const std::string> ids) override;
  // Writes the batch as one part file, replacing records by id (no metadata merge, unlike
  // Chroma). Within a batch the last copy of a repeated id wins. kInvalidArgument for: more than
  // kMaxBatchSize records, an empty id or embedding, mixed dimensions or one that differs from the
  // collection's, metadata that cannot round-trip (metadata_not_representable_reason).
  Status upsert(const CollectionInfo& collection, std::span<const Record> records) override;
  // Rewrites the affected records without those keys (get, delete, upsert: a snapshot replaces
  // records wholesale, so this is not atomic per record across a crash; work snapshots only).
  Status remove_metadata_keys(const CollectionInfo& collection,
                              std::span<const MetadataKeyRemoval> removals) override;
  Status delete_records(const CollectionInfo& collection,
                        std::span<const std::string> ids) override;
  // Exact brute force in the stored collection's space (common/store/distance.hpp), streaming one
  // part at a time; equal distances are ordered by id. Works sealed or not.
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& collection,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;
  // Seals: resolves ids present in several parts (the part with the highest write_seq keeps its
  // copy, the others are rewritten without it), then writes manifest.json. A no-op when already
  // sealed with the same description, or when opened kRead.
  Status flush() override;

  // Like create_collection, but keeps the source's id, metadata, hnsw, configuration (verbatim)
  // and dimension: how the exporter records a server collection.
  Result<CollectionInfo> create_collection_from(const CollectionInfo& source);
  // Stored in the manifest at the next flush().
  void set_description(std::string description);
  bool sealed() const;
  // The manifest as loaded or last written; nullopt when unsealed.
  std::optional<SnapshotManifest> manifest() const;
  const std::filesystem::path& dir() const { return dir_; }

  // Batch-aligned reads for the importer (sealed snapshots only, else kInvalidArgument): parts in
  // manifest order; read_part checks the file's size and XXH3-64 against the manifest
  // (kCorruption).
  Result<std::size_t> part_count(const std::string& collection);
  Result<std::vector<Record>> read_part(const std::string& collection, std::size_t index);
  // Like read_part (same file checks), but only ids and embeddings are decoded (documents null,
  // metadata empty, record digests not recomputed: the file's XXH3-64 covers them): for
  // nearest-neighbour search, which needs nothing else.
  Result<std::vector<Record>> read_part_vectors(const std::string& collection, std::size_t index);
  // The file name of part `index` in manifest order (sealed only, as part_count).
  Result<std::string> part_file(const std::string& collection, std::size_t index);
  // A part by its file name, sealed or not: what a pipelined import reads right after the export
  // wrote it (migrate/import_stream.hpp). Decoded strictly, every record's stored digest
  // recomputed (kCorruption naming the file); `expected_records` is checked too. Not for a
  // snapshot with delta generations (kInvalidArgument).
  Result<std::vector<Record>> read_part_file(const std::string& collection, const std::string& file,
                                             std::size_t expected_records);

  // verify_snapshot() on this store's directory, and on each committed delta with its binding;
  // kInvalidArgument when not sealed.
  Result<VerifyReport> verify();

  // Writing a delta generation: open its (new) folder kWrite, set_lineage() before any write,
  // upsert and write_tombstones, flush() to seal; then snapshot::commit_generation().
  Status set_lineage(std::uint64_t generation, const ManifestBase& base);
  // One part of tombstones: `ids` were deleted at the source since the base (a delta only).
  Status write_tombstones(const CollectionInfo& collection, std::span<const std::string> ids);
  // The newest generation read (kRead: the newest committed delta's, else this snapshot's own),
  // and the binding a delta on top of it names as its base.
  std::uint64_t generation() const;
  Result<ManifestBase> binding() const;
  // Ids a committed delta deleted (kRead: tombstoned in the newest generation holding them),
  // sorted; empty without deltas.
  std::vector<std::string> deleted_ids(const std::string& collection) const;
  // A sealed part with the marks of its records (tombstones included), checked like read_part.
  Result<DecodedPart> read_part_marked(const std::string& collection, std::size_t index);

 private:
  struct IdIndex;
  struct PartView;
  struct CollectionState;
  class Overlay;  // the committed deltas of a snapshot opened kRead (snapshot_overlay.cpp)

  static Result<std::unique_ptr<SnapshotStore>> open_single(const std::filesystem::path& dir,
                                                            Mode mode);
  SnapshotStore(std::filesystem::path dir, Mode mode);
  Status load_for_write();
  Status check_writable() const;
  // Callers hold mu_. Removes manifest.json durably before anything it describes changes.
  Status unseal_locked();
  void invalidate_locked(CollectionState& state);
  Result<CollectionState*> state_locked(const std::string& name);
  // Callers hold mu_ and have checked that the snapshot is sealed.
  Result<const ManifestCollection*> manifest_entry_locked(const std::string& name) const;
  Result<std::shared_ptr<const IdIndex>> index_for(const std::string& name);
  Result<PartView> parts_for(const std::string& name);
  Result<std::shared_ptr<const std::vector<Record>>> load_part(const std::string& name,
                                                               const std::string& file);
  // The bytes of a sealed snapshot's part, checked against the manifest (size, XXH3-64).
  Result<std::pair<std::string, ManifestPart>> listed_part_bytes(const std::string& collection,
                                                                 std::size_t index);

  const std::filesystem::path dir_;
  const Mode mode_;
  // Shared by upsert, create and every read; exclusive for flush, delete_records and
  // delete_collection, which rewrite or remove files that others may be reading or listing.
  std::shared_mutex ops_mu_;
  mutable std::mutex mu_;  // guards the members below; never held across encoding
  std::map<std::string, std::unique_ptr<CollectionState>> collections_;
  std::optional<SnapshotManifest> manifest_;
  std::string description_;
  // Format-2 identity fields of the manifest, kept across a reopen for writing and re-seal.
  std::uint64_t generation_ = 0;
  std::optional<ManifestBase> base_;
  std::optional<ManifestShard> shard_;
  std::uint64_t next_generation_ = 1;
  std::unique_ptr<Overlay> overlay_;  // kRead with committed deltas only
};

}  // namespace cm
