#include "validate/semantic/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_set>

namespace cm::validate {

std::optional<double> recall_with_ties(std::span<const QueryHit> exact,
                                       std::span<const JudgedHit> answer, double tolerance) {
  if (exact.empty()) return std::nullopt;
  std::unordered_set<std::string_view> truth, counted;
  for (const auto& h : exact) truth.insert(h.id);
  const double kth = exact.back().distance;
  std::size_t hits = 0;
  for (const auto& a : answer) {
    if (!counted.insert(a.id).second) continue;
    const bool tied = a.exact_distance && std::isfinite(*a.exact_distance) &&
                      double{*a.exact_distance} <= kth + tolerance;
    if (truth.contains(a.id) || tied) ++hits;
  }
  return std::min(1.0, static_cast<double>(hits) / static_cast<double>(exact.size()));
}

double jaccard(std::span<const std::string> a, std::span<const std::string> b) {
  std::unordered_set<std::string_view> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  if (sa.empty() && sb.empty()) return 1.0;
  std::size_t common = 0;
  for (const auto& id : sa) common += sb.contains(id) ? 1 : 0;
  return static_cast<double>(common) / static_cast<double>(sa.size() + sb.size() - common);
}

double rank_biased_overlap(std::span<const std::string> a, std::span<const std::string> b,
                           double p) {
  const std::size_t depth = std::max(a.size(), b.size());
  if (depth == 0) return 1.0;
  std::unordered_set<std::string_view> seen_a, seen_b;
  std::size_t overlap = 0;  // X_d: ids in both prefixes of length d
  double sum = 0;
  for (std::size_t d = 1; d <= depth; ++d) {
    // Each new id adds to the overlap when the other prefix already holds it (an id at the same
    // rank on both sides is added once: it is first inserted, then found).
    if (d <= a.size() && seen_a.insert(a[d - 1]).second && seen_b.contains(a[d - 1])) ++overlap;
    if (d <= b.size() && seen_b.insert(b[d - 1]).second && seen_a.contains(b[d - 1])) ++overlap;
    sum +=
        static_cast<double>(overlap) / static_cast<double>(d) * std::pow(p, static_cast<double>(d));
  }
  const double k = static_cast<double>(depth);
  return static_cast<double>(overlap) / k * std::pow(p, k) + (1 - p) / p * sum;
}

std::vector<QueryHit> merge_answers(std::span<const std::vector<QueryHit>> lists, std::size_t k) {
  std::map<std::string, float> best;
  for (const auto& list : lists) {
    for (const auto& h : list) {
      auto [it, inserted] = best.emplace(h.id, h.distance);
      if (!inserted && distance_before(h.distance, it->second)) it->second = h.distance;
    }
  }
  std::vector<QueryHit> out;
  out.reserve(best.size());
  for (auto& [id, distance] : best) out.push_back(QueryHit{id, distance});
  std::stable_sort(
      out.begin(), out.end(),  // ids are already in order: ties stay by id
      [](const QueryHit& x, const QueryHit& y) { return distance_before(x.distance, y.distance); });
  if (out.size() > k) out.resize(k);
  return out;
}

std::vector<std::string> ids_of(std::span<const QueryHit> hits) {
  std::vector<std::string> out;
  out.reserve(hits.size());
  for (const auto& h : hits) out.push_back(h.id);
  return out;
}

bool reported_distance_agrees(std::optional<float> reported, std::optional<float> expected,
                              double tolerance) {
  if (!reported || !expected) return false;
  const bool fr = std::isfinite(*reported), fe = std::isfinite(*expected);
  if (!fr || !fe) return !fr && !fe;
  const double e = *expected;
  return std::abs(double{*reported} - e) <= tolerance * std::max(1.0, std::abs(e));
}

std::vector<std::string> missed_neighbours(std::span<const QueryHit> exact,
                                           std::span<const JudgedHit> answer) {
  std::unordered_set<std::string_view> answered;
  for (const auto& a : answer) answered.insert(a.id);
  std::vector<std::string> out;
  for (const auto& h : exact) {
    if (!answered.contains(h.id)) out.push_back(h.id);
  }
  return out;
}

Attribution attribute_shortfall(std::span<const QueryHit> exact, std::span<const JudgedHit> answer,
                                double tolerance,
                                const std::function<NeighbourState(const std::string&)>& state_of) {
  Attribution a;
  a.truth = exact.size();
  if (exact.empty()) return a;
  const double recall = recall_with_ties(exact, answer, tolerance).value_or(1.0);
  a.shortfall =
      static_cast<std::size_t>(std::llround((1.0 - recall) * static_cast<double>(exact.size())));
  std::unordered_set<std::string_view> truth, counted;
  for (const auto& h : exact) truth.insert(h.id);
  for (const auto& h : answer) {
    if (!counted.insert(h.id).second || truth.contains(h.id)) continue;
    // A record outside the exact top-k: an approximate answer when its distance is what its
    // expected vector gives, a changed (or unexpected) record when not. Without a reported
    // distance (a local index) only an unknown id is known to be wrong.
    const bool agrees = h.reported_distance ? reported_distance_agrees(h.reported_distance,
                                                                       h.exact_distance, tolerance)
                                            : h.exact_distance.has_value();
    if (!agrees) ++a.answers_changed;
  }
  if (a.shortfall > 0) {
    for (const auto& id : missed_neighbours(exact, answer)) {
      ++a.missed;
      switch (state_of(id)) {
        case NeighbourState::kIntact:
          ++a.missed_intact;
          break;
        case NeighbourState::kMissing:
          ++a.missed_missing;
          break;
        case NeighbourState::kChanged:
          ++a.missed_changed;
          break;
      }
    }
  }  // else: every absent neighbour is covered by a tie; nothing to look up
  a.divergent = std::min(a.shortfall, a.missed_missing + a.missed_changed + a.answers_changed);
  a.approximate = a.shortfall - a.divergent;
  a.recall_without_approximation =
      1.0 - static_cast<double>(a.divergent) / static_cast<double>(a.truth);
  return a;
}

}  // namespace cm::validate
