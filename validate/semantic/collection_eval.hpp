// Semantic-search equivalence for ONE source collection: its queries (from the queries file and
// sampled from its own records), answered three ways and compared:
//   exact     - brute force over the reference set (reference_set.hpp) in the source's space;
//   target    - the target server, over every target collection the source routed to, merged by
//               distance;
//   live      - the old server (--source), when given.
// The fourth answer, the hnswlib baseline, comes later for all collections at once
// (ann_baseline.hpp: one index per target collection, shared by the sources routed to it); what
// it needs is kept in `baseline`.
// Memory: one reference matrix (rows x dim float32) while evaluating, freed before returning.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "validate/check.hpp"
#include "validate/semantic/metrics.hpp"
#include "validate/semantic/queries_file.hpp"
#include "validate/semantic/reference_set.hpp"

namespace cm::validate {

struct QueryOutcome {
  std::string name;  // the query's name, or the sampled record's id
  bool sampled = false;
  std::size_t k = 0;
  std::optional<double> recall;           // target vs exact, with ties; nullopt: nothing to find
  double jaccard = 0, rbo = 0;            // target vs exact ids
  std::optional<double> baseline_recall;  // hnswlib vs exact (set by run_baselines)
  // With --source. live_recall: the share of the old server's top-k that the target matched (a
  // target result at least as close as the old k-th, exactly computed, counts). live_exact_recall:
  // the old server vs the exact top-k over the source collection's own landed records (what it
  // can see; records the mapping skipped that it returns count as misses).
  std::optional<double> live_recall;
  std::optional<double> live_exact_recall;
  // Non-finite distances (metrics.hpp): reference rows at a non-finite distance from the query
  // (left out of the exact top-k), and target hits the server reported without a finite
  // distance (null). A query whose exact top-k holds no finite distance at all has nothing to
  // find: excluded_non_finite, and recall stays nullopt.
  std::size_t exact_non_finite = 0, target_non_finite = 0;
  bool excluded_non_finite = false;
  // Why the target's recall falls short: the index's approximation (the missed neighbours are in
  // the target with their expected vectors) or divergence (missing or changed records). Only
  // divergence counts for the verdict (attribution.recall_without_approximation).
  Attribution attribution;
};

struct CollectionEvaluation {
  std::string collection;
  std::string space;
  std::vector<std::pair<std::string, std::optional<std::string>>>
      targets;  // name, space (nullopt: missing)
  bool space_changed = false;
  ReferenceCounts reference;
  std::vector<QueryOutcome> outcomes;
  std::vector<std::string> findings;  // problems, each naming the collection
  // Set when the check could not judge this collection at all (every query's distances were
  // non-finite, or the target's answers could not be read): why. The other collections are
  // judged as usual.
  std::optional<std::string> not_judged;
  std::size_t neighbours_looked_up = 0;  // missed neighbours fetched from the target by id
  std::size_t unresolved = 0;            // file queries that could not be run
  double seconds_reading = 0, seconds_target = 0, seconds_exact = 0;

  // For the baseline: the prepared queries (rows), their k, the exact answers, and the routed
  // target collections the import snapshot holds. Empty when no query ran.
  struct Baseline {
    DistanceSpace space = DistanceSpace::kL2;
    RowMatrix queries;
    std::vector<std::size_t> ks;
    std::vector<std::vector<QueryHit>> exact;
    std::vector<std::string> targets;
  } baseline;
};

struct EvaluationRequest {
  CollectionInfo source;                // from the export snapshot
  std::vector<std::string> targets;     // routed target collections (run.json ledger)
  std::vector<QuerySpec> file_queries;  // those naming this collection
  std::size_t samples = 0;              // records of this collection to use as queries
};

// Errors only when a store cannot be read (the check then reports ERROR); everything about the
// data is an outcome or a finding.
Result<CollectionEvaluation> evaluate_collection(ValidationContext& ctx,
                                                 const EvaluationRequest& request);

// `count` distinct positions in [0, n), ascending, a pure function of (seed, collection, n).
std::vector<std::uint64_t> sample_positions(std::uint64_t seed, const std::string& collection,
                                            std::uint64_t n, std::size_t count);

}  // namespace cm::validate
