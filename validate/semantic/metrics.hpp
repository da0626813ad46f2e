// How close one ranked answer is to the exact one, for the semantic-search test.
//
// recall_with_ties is the verdict metric: the share of the exact top-k that the answer found,
// where an answered record also counts when its own exact distance is within `tolerance` of the
// exact k-th distance (with ties at the k-th place, "the" top-k is not unique, and any of the tied
// records is a correct answer). Jaccard@k and rank-biased overlap are diagnostics: Jaccard
// ignores order, RBO weighs agreement at the top more (persistence p = 0.9: the first 10 ranks
// carry ~65% of the weight).
//
// Non-finite distances. With `ip` and very large components (|x| ~ 3e28, legal float32) a dot
// product overflows: the server answers such a hit with a `null` distance (read as NaN) and the
// exact reference computes ±inf or NaN for it. A non-finite distance carries no order (NaN has
// none, and null loses the sign), so both sides rank it the same way: after every finite
// distance, ties by id (distance_before). The exact top-k holds finite distances only
// (ReferenceMatrix::top_k leaves non-finite ones out and counts them); an answered record counts
// as a tie only with a finite exact distance.
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::validate {

// A record in an answer, with the distance WE compute for it from the reference vectors (so that
// every answer is judged with the same arithmetic); nullopt when the reference does not know the
// id (a record that should not be there).
struct JudgedHit {
  std::string id;
  std::optional<float> exact_distance;
  // The distance the answering index reported (NaN for a server's `null`); nullopt when unknown.
  std::optional<float> reported_distance = std::nullopt;
};

// The order of distances in every ranking of the check: finite ascending, then every non-finite
// one (equal among themselves: callers break ties by id).
inline bool distance_before(float a, float b) {
  const bool fa = std::isfinite(a), fb = std::isfinite(b);
  if (fa != fb) return fa;
  return fa && a < b;
}

// `exact`: the exact top-k, ascending (its size is min(k, records)). `answer`: at most k hits;
// repeated ids count once. Returns nullopt when `exact` is empty (nothing to find), else a value
// in [0, 1]: hits / |exact|.
std::optional<double> recall_with_ties(std::span<const QueryHit> exact,
                                       std::span<const JudgedHit> answer, double tolerance);

// |A ∩ B| / |A ∪ B| of the two id sets; 1 when both are empty.
double jaccard(std::span<const std::string> a, std::span<const std::string> b);

// Extrapolated rank-biased overlap (Webber, Moffat, Zobel 2010, eq. 32) at depth
// max(|a|, |b|), absent ranks matching nothing: 1 for identical lists, 0 for disjoint ones.
// Repeated ids count at their first rank only. Two empty lists: 1.
double rank_biased_overlap(std::span<const std::string> a, std::span<const std::string> b,
                           double p = 0.9);

// Merges answers from several collections into one ranking: ascending distance (ties by id),
// each id once at its smallest distance, at most k.
std::vector<QueryHit> merge_answers(std::span<const std::vector<QueryHit>> lists, std::size_t k);

std::vector<std::string> ids_of(std::span<const QueryHit> hits);

// --- Attribution of a recall shortfall ---------------------------------------------------------
// A shortfall (exact neighbours the answer did not find) is either the index's approximation
// (HNSW is approximate: the record is in the target with its expected vector, the index just did
// not return it) or divergence (the record is missing from the target, or the target holds
// another vector for it). Only divergence is a migration fault.

// What the target holds for a true neighbour the answer missed (looked up by id).
enum class NeighbourState { kIntact, kMissing, kChanged };

// Whether an answered hit's reported distance agrees with the distance computed from the expected
// vector: within `tolerance` scaled by max(1, |expected|) (float32 arithmetic differs only in
// summation order); two non-finite distances agree. An id the reference does not know never does.
bool reported_distance_agrees(std::optional<float> reported, std::optional<float> expected,
                              double tolerance);

struct Attribution {
  std::size_t truth = 0;            // |exact| (finite exact top-k)
  std::size_t shortfall = 0;        // |exact| - hits of recall_with_ties
  std::size_t missed = 0;           // exact neighbours absent from the answer (ids)
  std::size_t missed_intact = 0;    // ... held by the target with the expected vector
  std::size_t missed_missing = 0;   // ... absent from the target
  std::size_t missed_changed = 0;   // ... held with another vector
  std::size_t answers_changed = 0;  // answered hits whose reported distance disagrees with the
                                    // expected one, or unknown to the reference
  std::size_t divergent = 0;        // the share of the shortfall the target's data explains:
                                    // min(shortfall, missed_missing + missed_changed +
                                    // answers_changed)
  std::size_t approximate = 0;      // shortfall - divergent: the index's approximation
  // 1 - divergent / truth: the recall the target would reach with an exact index (what the
  // verdict judges); nullopt when truth is 0.
  std::optional<double> recall_without_approximation;
};

// `exact` and `answer` as for recall_with_ties (answer hits carry reported_distance when the
// index reported one); `state_of` is asked only for exact neighbours absent from the answer.
Attribution attribute_shortfall(std::span<const QueryHit> exact, std::span<const JudgedHit> answer,
                                double tolerance,
                                const std::function<NeighbourState(const std::string&)>& state_of);

// Exact neighbours absent from `answer` (by id), in exact order.
std::vector<std::string> missed_neighbours(std::span<const QueryHit> exact,
                                           std::span<const JudgedHit> answer);

}  // namespace cm::validate
