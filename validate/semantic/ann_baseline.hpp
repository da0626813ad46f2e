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
#include <vector>

#include <nlohmann/json.hpp>

#include "validate/check.hpp"
#include "validate/semantic/collection_eval.hpp"

namespace cm::validate {

struct AnnParameters {
  std::size_t m = 16;
  std::size_t ef_construction = 100;
  std::size_t ef_search = 100;
};

// Sets baseline_recall on every outcome of every evaluation that ran queries (hits judged with
// hnswlib's own distances, same space, `tolerance` for ties). Returns per index figures:
// {"<target>": {"space", "records", "seconds"}}.
Result<nlohmann::json> run_baselines(ValidationContext& ctx,
                                     std::vector<CollectionEvaluation>& evaluations,
                                     double tolerance, AnnParameters parameters = {});

}  // namespace cm::validate
