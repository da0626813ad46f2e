// How close one ranked answer is to the exact one, for the semantic-search test.
//
// recall_with_ties is the verdict metric: the share of the exact top-k that the answer found,
// where an answered record also counts when its own exact distance is within `tolerance` of the
// exact k-th distance (with ties at the k-th place, "the" top-k is not unique, and any of the tied
// records is a correct answer). Jaccard@k and rank-biased overlap are diagnostics: Jaccard
// ignores order, RBO weighs agreement at the top more (persistence p = 0.9: the first 10 ranks
// carry ~65% of the weight).
#pragma once

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
};

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

}  // namespace cm::validate
