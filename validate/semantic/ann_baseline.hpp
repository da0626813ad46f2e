// The ANN baseline of the semantic-search test: local hnswlib indexes over what the target
// collections should hold, built with Chroma's default parameters (M 16, ef_construction 100,
// ef_search 100), so its recall shows what an HNSW search over this data can be expected to
// reach. A target far below the baseline lost something; one at the baseline is as good as HNSW
// gets on this data.
//
// Like the server: one index per target collection (per distance space of the sources routed to
// it; normally one), each source's queries sent to the indexes of its routed collections and the
// answers merged by distance. A target collection fed by several sources is indexed once.
// Spaces as Chroma builds them: l2 -> hnswlib::L2Space (squared euclidean); cosine ->
// InnerProductSpace over normalised vectors (1 - cosine); ip -> InnerProductSpace (1 - dot).
//
// Memory: one index at a time (a float32 copy of each vector plus ~M*2*4 bytes of level-0 links),
// built by streaming the snapshots; nothing else of size O(records) but the id strings.
// Inserts run on a few threads, so the graph (and the baseline figure, slightly) may differ
// between runs; the verdict never depends on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "validate/check.hpp"
#include "validate/semantic/collection_eval.hpp"

namespace cm::validate {

struct AnnParameters {
  std::size_t m = 16;
  std::size_t ef_construction = 100;
  std::size_t ef_search = 100;
  // An index is built only when its estimated size (records x (dim x 4 + 2M x 4 + 64) bytes)
  // fits: validation's memory stays bounded however large a collection is (thresholds:
  // baseline_memory_mb).
  std::uint64_t memory_budget_bytes = 128ull << 20;
  // A query below the recall threshold whose whole shortfall is the index's approximation (every
  // missed neighbour is in the target with its expected vector) needs no baseline to explain it,
  // unless its recall is below this floor (then the target's index itself may be broken, and the
  // baseline shows what HNSW should reach). Thresholds: ann_recall_warning_floor.
  double recall_floor = 0.5;
};

// Whether an evaluation's queries call for a baseline index over its routed collections.
enum class BaselineNeed {
  kNone,       // every query reached the recall threshold
  kExplained,  // those below it fell short by the index's approximation only, above the floor
  kNeeded,     // a shortfall the data explains (divergence), or a recall below the floor
};
BaselineNeed baseline_need(const CollectionEvaluation& eval, double recall_threshold,
                           double recall_floor);

// The estimated bytes of an index over `records` vectors of `dim` (what the budget is checked
// against): the float32 copy, the level-0 links and hnswlib's per-element bookkeeping.
std::uint64_t baseline_index_bytes(std::uint64_t records, std::size_t dim, const AnnParameters& p);

// Sets baseline_recall on every outcome of the evaluations that have a query below
// `recall_threshold` that the attribution does not already explain as approximation (see
// recall_floor; only those have a shortfall to explain, so only their routed target collections
// are indexed; hits judged with hnswlib's own distances, same space, `tolerance` for
// ties). Returns per index figures: {"<target>": {"space", "records", "seconds"}}, or
// {"<target>": {"space", "records", "skipped"}} for an index over the memory budget, or
// {"<target>": {"space", "not_built"}} for a collection whose shortfall is all approximation.
Result<nlohmann::json> run_baselines(ValidationContext& ctx,
                                     std::vector<CollectionEvaluation>& evaluations,
                                     double tolerance, double recall_threshold,
                                     AnnParameters parameters = {});

}  // namespace cm::validate
