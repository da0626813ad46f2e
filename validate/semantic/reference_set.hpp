// The reference a search over one source collection is judged against: the records a search of
// its routed target collections should see, with their source vectors.
//
//   1. the source collection's own records (vectors from the EXPORT snapshot, the reference)
//      whose ids landed in one of the routed target collections (the import snapshot says which:
//      records the mapping skipped or routed elsewhere are not searchable there);
//   2. records of OTHER source collections that share a routed target collection (a merge, e.g.
//      kb_intl = kb_articles' non-English chunks + legal_clauses): the target's search sees them,
//      so the exact search must too (vectors from the import snapshot, which holds them as sent);
//   3. for a target collection the run merged into, the records it held before the run and kept
//      (snapshots/backup), for the same reason.
// Each id counts once (the first occurrence in that order). Ids are assumed unchanged by the
// mapping (the check refuses to judge a mapping with an id_template).
//
// Memory: id hashes of the source collection and of the routed collections (16-byte hashes in flat
// sets, about 20 bytes each) while planning; the loaded matrix is rows x dim float32 plus one id
// string and one hash-map entry per row. stream() re-reads the snapshots instead of keeping
// vectors, so a caller can free the matrix and build something else (the hnswlib baseline) from the
// same records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"
#include "common/store/canonical.hpp"
#include "common/store/distance.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/check.hpp"

namespace cm::validate {

struct ReferenceCounts {
  std::uint64_t source_records = 0;  // in the export
  std::uint64_t landed = 0;          // 1.
  std::uint64_t merged_in = 0;       // 2.
  std::uint64_t retained = 0;        // 3.
  std::uint64_t rows() const { return landed + merged_in + retained; }
};

class ReferenceSet {
 public:
  // Records seen by visitors carry ids and embeddings only (SnapshotStore::read_part_vectors).
  using Visitor = std::function<Status(const Record&)>;

  // Plans the set for `source` routed to `targets` (names in the import snapshot; a target the
  // import snapshot lacks contributes nothing). `pick` sees every record of the source collection
  // once, in export order, during planning (the check takes its query vectors there).
  static Result<ReferenceSet> plan(ValidationContext& ctx, const CollectionInfo& source,
                                   const std::vector<std::string>& targets, const Visitor& pick);

  const ReferenceCounts& counts() const { return counts_; }
  // Every record of the set in a fixed order (the same on every call), each id once: the source
  // collection's own (landed) records first, then the others.
  Status stream(const Visitor& visit) const;

 private:
  struct Part {
    SnapshotStore* store;
    std::string collection;
    std::size_t index;
    enum class Take { kLanded, kNotFromSource, kRetained } take;
  };
  ValidationContext* ctx_ = nullptr;
  std::vector<Part> parts_;
  std::shared_ptr<SnapshotStore> backup_;
  IdHashSet source_ids_, expected_ids_;  // landed: in both
  ReferenceCounts counts_;
};

// The snapshot of the target taken before the run (run.json's backup.path, default
// snapshots/backup): what a merged collection held before.
Result<std::unique_ptr<SnapshotStore>> open_backup(const ValidationContext& ctx);

// What target collection `target` should hold after the run, each id once: its records in the
// import snapshot, then, when the run merged into it, the backup's records of that collection
// whose ids the run did not bring. `backup` may be null when the collection was not merged.
Status stream_target_content(ValidationContext& ctx, const std::string& target,
                             SnapshotStore* backup, const ReferenceSet::Visitor& visit);
bool merged_by_run(ValidationContext& ctx, const std::string& target);

// The exact top-k of prepared queries over a reference set, streamed: blocks of the set's rows
// against every query at once (a matrix product), each query keeping a running top-k. Memory: one
// block (kBlock x dim float32) and the top lists, whatever the set's size.
//
// all[q]: ks[q] results for query q over every row, ascending, ties by row order (the order of
// ReferenceSet::stream). source_only[q]: the same over the first `source_rows` rows only (the
// source collection's own records, which stream yields first); empty when source_rows is 0.
// Rows at a non-finite distance (an `ip` dot product that overflows float32) rank after every
// finite one and carry no order, so they are left out: a list is shorter than k when fewer rows are
// at a finite distance; non_finite[q] counts the rows left out that way.
struct ExactTopK {
  std::vector<std::vector<QueryHit>> all;
  std::vector<std::vector<QueryHit>> source_only;
  std::vector<std::size_t> non_finite;
};
// Rows to scan: calls the visitor with every record (id and embedding) in a fixed order, as
// ReferenceSet::stream does.
using RowStream = std::function<Status(const ReferenceSet::Visitor&)>;
RowStream rows_of(const ReferenceSet& set);
// Fails with kInvalidArgument naming the record when a vector's dimension is not `dim`.
// `expected_rows`: how many rows the stream must give (kInternal otherwise: a snapshot changed
// while it was read); SIZE_MAX: not checked.
Result<ExactTopK> exact_top_k(const RowStream& stream, DistanceSpace space, std::size_t dim,
                              const RowMatrix& queries, std::span<const std::size_t> ks,
                              std::size_t source_rows, std::uint64_t expected_rows = SIZE_MAX);

// The prepared rows (common/store/distance.hpp) of the set's records whose ids are `wanted`, for
// judging answers by the reference's own arithmetic: one pass over the set, keeping only those
// (the ids of the answers and of the exact neighbours: a few per query, not the collection).
struct ReferenceMatrix {
  DistanceSpace space = DistanceSpace::kL2;
  RowMatrix rows;
  std::vector<std::string> ids;
  std::unordered_map<IdHash, std::uint32_t, IdHashHasher> row_of;

  // Fails with kInvalidArgument naming the record when a vector's dimension is not `dim`.
  static Result<ReferenceMatrix> load(const RowStream& stream, DistanceSpace space, std::size_t dim,
                                      const IdHashSet& wanted);
  // The distance of a prepared query to the record `id`; nullopt when the set lacks the id (or it
  // was not wanted).
  std::optional<float> distance(const RowMatrix& queries, std::size_t q,
                                const std::string& id) const;
};

}  // namespace cm::validate
