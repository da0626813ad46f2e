// The verdict of the semantic-search test (rules: semantic_search.cpp's header), kept apart from
// the test's driver: per-collection and overall figures, findings and status from the evaluations.
#include "validate/checks/semantic_verdict.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "validate/checks/check_util.hpp"

namespace cm::validate {
namespace {

constexpr const char* kRollbackReason = "Search Results Diverged";

struct Stats {
  std::size_t n = 0;
  double sum = 0, min = 1;
  void add(double v) { ++n, sum += v, min = std::min(min, v); }
  nlohmann::json mean() const {
    return n ? nlohmann::json(sum / static_cast<double>(n)) : nlohmann::json();
  }
  nlohmann::json minimum() const { return n ? nlohmann::json(min) : nlohmann::json(); }
};

// The per-query recall@k of one source collection, as the HTML page's distribution plot needs it:
// ten bins of width 0.1 ([0, 0.1), ..., [0.9, 1.0], the last one closed). Bounded, unlike the
// per-query values. The epsilon keeps 0.3 (3 of 10 found) out of the bin below.
struct RecallHistogram {
  std::array<std::uint64_t, 10> counts{};
  void add(double recall) {
    const auto bin = static_cast<std::size_t>(std::max(0.0, std::floor(recall * 10 + 1e-9)));
    ++counts[std::min<std::size_t>(bin, counts.size() - 1)];
  }
  nlohmann::json to_json() const { return {{"bin_width", 0.1}, {"counts", counts}}; }
};

void add(Attribution& into, const Attribution& a) {
  into.truth += a.truth;
  into.shortfall += a.shortfall;
  into.missed += a.missed;
  into.missed_intact += a.missed_intact;
  into.missed_missing += a.missed_missing;
  into.missed_changed += a.missed_changed;
  into.answers_changed += a.answers_changed;
  into.divergent += a.divergent;
  into.approximate += a.approximate;
}
nlohmann::json to_json(const Attribution& a) {
  return {{"exact_neighbours", a.truth},
          {"shortfall", a.shortfall},
          {"shortfall_approximation", a.approximate},
          {"shortfall_divergence", a.divergent},
          {"missed_neighbours", a.missed},
          {"missed_intact_in_target", a.missed_intact},
          {"missed_missing_from_target", a.missed_missing},
          {"missed_changed_in_target", a.missed_changed},
          {"answers_at_unexpected_distance", a.answers_changed}};
}

double sum_or(const Stats& s) {
  return s.n ? s.sum / static_cast<double>(s.n) : 0.0;
}
std::string fmt_pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

}  // namespace

std::string semantic_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

void judge_semantic(const ValidationContext& ctx,
                    const std::vector<CollectionEvaluation>& evaluations, std::size_t unresolved,
                    std::size_t file_queries, CheckResult& result) {
  const auto& t = ctx.thresholds;
  Stats recall, jac, rbo, baseline, live, live_exact, real;
  std::size_t below = 0, diverged = 0, sampled = 0, all_queries = 0;
  std::size_t excluded_non_finite = 0, exact_non_finite = 0, target_non_finite = 0;
  std::size_t queries_with_non_finite = 0;
  Attribution total;  // summed over every judged query
  std::size_t looked_up = 0;
  bool space_changed = false;
  std::uint64_t reference_rows = 0;
  std::vector<std::pair<double, std::string>> worst;      // (recall, query) below the threshold
  std::vector<std::pair<double, std::string>> diverging;  // (recall w/o approximation, query)
  nlohmann::json per = nlohmann::json::object();
  nlohmann::json not_judged = nlohmann::json::array();
  std::vector<std::string> low_index;  // collections whose index recall is below the floor
  for (const auto& e : evaluations) {
    Stats c_recall, c_jac, c_rbo, c_baseline, c_real, c_live_exact;
    RecallHistogram c_histogram;
    std::size_t c_below = 0, c_diverged = 0, c_excluded = 0, c_exact_nf = 0, c_target_nf = 0,
                c_queries_nf = 0;
    Attribution c_total;
    for (const auto& o : e.outcomes) {
      ++all_queries;
      sampled += o.sampled ? 1 : 0;
      c_exact_nf += o.exact_non_finite;
      c_target_nf += o.target_non_finite;
      c_queries_nf += (o.exact_non_finite + o.target_non_finite) > 0 ? 1 : 0;
      c_excluded += o.excluded_non_finite ? 1 : 0;
      if (o.baseline_recall) baseline.add(*o.baseline_recall), c_baseline.add(*o.baseline_recall);
      if (o.live_recall) live.add(*o.live_recall);
      if (o.live_exact_recall)
        live_exact.add(*o.live_exact_recall), c_live_exact.add(*o.live_exact_recall);
      if (!o.recall) continue;
      recall.add(*o.recall), c_recall.add(*o.recall);
      c_histogram.add(*o.recall);
      jac.add(o.jaccard), c_jac.add(o.jaccard);
      rbo.add(o.rbo), c_rbo.add(o.rbo);
      const auto& a = o.attribution;
      const double r = a.recall_without_approximation.value_or(*o.recall);
      real.add(r), c_real.add(r);
      add(c_total, a);
      if (*o.recall < t.recall_threshold) {
        ++below, ++c_below;
        worst.emplace_back(*o.recall, o.name);
      }
      if (r < t.recall_threshold) {
        ++diverged, ++c_diverged;
        diverging.emplace_back(r, o.name);
      }
    }
    add(total, c_total);
    looked_up += e.neighbours_looked_up;
    excluded_non_finite += c_excluded;
    exact_non_finite += c_exact_nf;
    target_non_finite += c_target_nf;
    queries_with_non_finite += c_queries_nf;
    space_changed |= e.space_changed;
    reference_rows += e.reference.rows();
    nlohmann::json targets = nlohmann::json::object();
    for (const auto& [name, space] : e.targets)
      targets[name] = space ? nlohmann::json(*space) : nlohmann::json();
    per[e.collection] = {
        {"space", e.space},
        {"targets", targets},
        {"queries", c_recall.n},
        {"mean_recall", c_recall.mean()},
        {"min_recall", c_recall.minimum()},
        {"recall_histogram", c_histogram.to_json()},
        {"mean_jaccard", c_jac.mean()},
        {"mean_rbo", c_rbo.mean()},
        {"hnswlib_baseline_recall", c_baseline.mean()},
        {"queries_below_threshold", c_below},
        {"queries_diverged", c_diverged},
        {"mean_recall_without_approximation", c_real.mean()},
        {"attribution", to_json(c_total)},
        {"index_recall",
         {{"target", {{"mean", c_recall.mean()}, {"worst", c_recall.minimum()}}},
          {"live_source", {{"mean", c_live_exact.mean()}, {"worst", c_live_exact.minimum()}}},
          {"hnswlib_baseline", c_baseline.mean()}}},
        {"non_finite",
         {{"queries_with_non_finite_distances", c_queries_nf},
          {"queries_excluded", c_excluded},
          {"exact_distances", c_exact_nf},
          {"target_distances", c_target_nf}}},
        {"judged", !e.not_judged.has_value()},
        {"reference_records", e.reference.rows()},
        {"reference",
         {{"landed", e.reference.landed},
          {"merged_in", e.reference.merged_in},
          {"retained", e.reference.retained},
          {"source_records", e.reference.source_records}}},
        {"seconds",
         {{"reading", e.seconds_reading},
          {"target_queries", e.seconds_target},
          {"exact", e.seconds_exact}}}};
    if (e.not_judged) per[e.collection]["not_judged_reason"] = *e.not_judged;
    result.findings.insert(result.findings.end(), e.findings.begin(), e.findings.end());
    if (e.not_judged) {
      not_judged.push_back({{"collection", e.collection}, {"reason", *e.not_judged}});
      result.findings.push_back(e.collection + ": not judged: " + *e.not_judged);
    } else if (c_excluded > 0) {
      result.findings.push_back(
          e.collection + ": " + std::to_string(c_excluded) + " of " +
          std::to_string(e.outcomes.size()) +
          " queries not judged: their distances to every record are non-finite (" + e.space +
          " arithmetic overflows float32; the server answers null distances)");
    }
    if (c_queries_nf > 0 && !e.not_judged) {
      result.findings.push_back(
          e.collection + ": non-finite distances in " + std::to_string(c_queries_nf) +
          " queries (" + std::to_string(c_exact_nf) + " in the exact reference, " +
          std::to_string(c_target_nf) +
          " null in the target's answers); ranked after every finite distance and left out of "
          "the exact top-k");
    }
    if (c_recall.n > 0 &&
        c_recall.sum / static_cast<double>(c_recall.n) < t.ann_recall_warning_floor) {
      low_index.push_back(e.collection);
      std::string line = e.collection + ": the target's index finds a mean recall@k of " +
                         semantic_number(sum_or(c_recall)) + " (worst " +
                         semantic_number(c_recall.min) + "), below ann_recall_warning_floor " +
                         semantic_number(t.ann_recall_warning_floor);
      if (c_live_exact.n)
        line += "; the old server's own recall: " + semantic_number(sum_or(c_live_exact));
      if (c_baseline.n) line += "; hnswlib baseline: " + semantic_number(sum_or(c_baseline));
      line += ". Check the collection's HNSW configuration (ef_search, max_neighbors)";
      result.findings.push_back(line);
    }
  }
  // The verdict's metric: queries whose recall stays below the threshold once the index's
  // approximation is set aside (only missing or changed records count).
  const double divergence =
      recall.n ? 100.0 * static_cast<double>(diverged) / static_cast<double>(recall.n) : 0.0;
  std::stable_sort(worst.begin(), worst.end());
  std::stable_sort(diverging.begin(), diverging.end());
  nlohmann::json worst_json = nlohmann::json::array();
  for (const auto& [r, name] : worst) {
    if (worst_json.size() < 10) worst_json.push_back({{"query", name}, {"recall", r}});
  }
  nlohmann::json diverging_json = nlohmann::json::array();
  for (const auto& [r, name] : diverging) {
    if (diverging_json.size() < 10)
      diverging_json.push_back({{"query", name}, {"recall_without_approximation", r}});
    if (result.samples.size() < kMaxSamples) result.samples.push_back(name);
  }
  result.figures = {{"queries", recall.n},
                    {"queries_from_file", file_queries},
                    {"queries_sampled", sampled},
                    {"queries_unresolved", unresolved},
                    {"queries_not_judged", all_queries - recall.n},
                    {"k", ctx.options.top_k},
                    {"mean_recall", recall.mean()},
                    {"min_recall", recall.minimum()},
                    {"mean_jaccard", jac.mean()},
                    {"mean_rbo", rbo.mean()},
                    {"hnswlib_baseline_recall", baseline.mean()},
                    {"queries_below_threshold", below},
                    {"queries_diverged", diverged},
                    {"queries_below_threshold_by_approximation", below - std::min(below, diverged)},
                    {"mean_recall_without_approximation", real.mean()},
                    {"semantic_divergence_percentage", divergence},
                    {"attribution", to_json(total)},
                    {"neighbours_looked_up", looked_up},
                    {"index_recall",
                     {{"target", {{"mean", recall.mean()}, {"worst", recall.minimum()}}},
                      {"hnswlib_baseline", baseline.mean()},
                      {"warning_floor", t.ann_recall_warning_floor},
                      {"collections_below_floor", low_index}}},
                    {"non_finite",
                     {{"queries_with_non_finite_distances", queries_with_non_finite},
                      {"queries_excluded", excluded_non_finite},
                      {"exact_distances", exact_non_finite},
                      {"target_distances", target_non_finite}}},
                    {"collections_not_judged", not_judged},
                    {"worst_queries", worst_json},
                    {"diverged_queries", diverging_json},
                    {"collections", per}};
  if (ctx.live_source) {
    result.figures["live_source"] = {{"queries", live.n},
                                     {"mean_recall_target_vs_live_source", live.mean()},
                                     {"mean_recall_live_source_vs_exact", live_exact.mean()}};
    result.figures["index_recall"]["live_source"] = {{"mean", live_exact.mean()},
                                                     {"worst", live_exact.minimum()}};
  }
  if (diverged) {
    result.findings.push_back(
        std::to_string(diverged) + " of " + std::to_string(recall.n) + " queries (" +
        fmt_pct(divergence) + ") below recall@k " + semantic_number(t.recall_threshold) +
        " because of missing or changed records (" + std::to_string(total.missed_missing) +
        " neighbours missing from the target, " + std::to_string(total.missed_changed) +
        " held with another vector, " + std::to_string(total.answers_changed) +
        " answered at a distance their expected vector does not give)" + examples(result.samples));
  }
  if (below > diverged) {
    result.findings.push_back(
        std::to_string(below - diverged) + " of " + std::to_string(recall.n) +
        " queries below recall@k " + semantic_number(t.recall_threshold) +
        " only by the index's approximation (" + std::to_string(total.missed_intact) +
        " missed neighbours are in the target with their expected vectors; target index mean "
        "recall " +
        semantic_number(sum_or(recall)) + ", worst " +
        semantic_number(recall.n ? recall.min : 0.0) +
        (live_exact.n ? ", old server " + semantic_number(sum_or(live_exact)) : std::string()) +
        "): not divergence");
  }
  if (recall.n == 0 && reference_rows > 0 && not_judged.empty()) {
    result.findings.push_back("no query could be judged: give --queries or --sample > 0");
  }
  if (space_changed || divergence > t.semantic_divergence_fail_pct) {
    result.status = CheckStatus::kFailed;
    result.rollback_reason = kRollbackReason;
  } else if (divergence > t.semantic_divergence_warning_pct || unresolved > 0 ||
             (recall.n == 0 && reference_rows > 0) || !not_judged.empty() ||
             excluded_non_finite > 0 || !low_index.empty()) {
    result.status = CheckStatus::kWarning;
  }
  if (below == 0 && recall.n > 0) {
    result.findings.push_back(
        "all " + std::to_string(recall.n) + " queries reach recall@k " +
        semantic_number(t.recall_threshold) + " (mean " + semantic_number(sum_or(recall)) +
        (baseline.n ? ", hnswlib baseline " + semantic_number(sum_or(baseline)) : std::string()) +
        ")");
  }
}

}  // namespace cm::validate
