// The semantic-search test's arithmetic: recall with ties, Jaccard, RBO, merging answers, exact
// top-k per space against plain loops, sampling, and the queries file's validation.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>

#include "common/store/distance.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/semantic/collection_eval.hpp"
#include "validate/semantic/metrics.hpp"
#include "validate/semantic/queries_file.hpp"
#include "validate/semantic/reference_set.hpp"

namespace cm::validate {
namespace {

using nlohmann::json;

TEST(SemanticMetricsTest, RecallCountsTiesAtTheKthDistance) {
  const std::vector<QueryHit> exact{{"a", 0.1f}, {"b", 0.2f}, {"c", 0.3f}};
  auto recall = [&](std::vector<JudgedHit> answer) {
    return *recall_with_ties(exact, answer, 1e-3);
  };
  EXPECT_DOUBLE_EQ(recall({{"a", 0.1f}, {"b", 0.2f}, {"c", 0.3f}}), 1.0);
  // d is not in the exact top-3 but ties with c: a correct answer.
  EXPECT_DOUBLE_EQ(recall({{"a", 0.1f}, {"b", 0.2f}, {"d", 0.3005f}}), 1.0);
  // e is beyond the tolerance, x is unknown to the reference: neither counts.
  EXPECT_NEAR(recall({{"a", 0.1f}, {"b", 0.2f}, {"e", 0.31f}}), 2.0 / 3, 1e-12);
  EXPECT_NEAR(recall({{"x", std::nullopt}, {"b", 0.2f}}), 1.0 / 3, 1e-12);
  // A repeated id counts once; an empty answer finds nothing.
  EXPECT_NEAR(recall({{"a", 0.1f}, {"a", 0.1f}, {"a", 0.1f}}), 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(recall({}), 0.0);
  // Nothing to find: not a score at all.
  EXPECT_FALSE(recall_with_ties({}, std::vector<JudgedHit>{{"a", 0.1f}}, 1e-3));
}

TEST(SemanticMetricsTest, JaccardOfIdSets) {
  const std::vector<std::string> a{"a", "b", "c"}, b{"b", "c", "d"}, none;
  EXPECT_DOUBLE_EQ(jaccard(a, b), 0.5);
  EXPECT_DOUBLE_EQ(jaccard(a, a), 1.0);
  EXPECT_DOUBLE_EQ(jaccard(a, none), 0.0);
  EXPECT_DOUBLE_EQ(jaccard(none, none), 1.0);
}

using Ids = std::vector<std::string>;

TEST(SemanticMetricsTest, RankBiasedOverlapWeighsTheTop) {
  const Ids base{"a", "b", "c", "d"};
  EXPECT_NEAR(rank_biased_overlap(base, base), 1.0, 1e-12);
  EXPECT_NEAR(rank_biased_overlap(base, Ids{"w", "x", "y", "z"}), 0.0, 1e-12);
  // By hand (Webber et al. eq. 32, p = 0.9): X = 1, 1, 3 at depths 1..3.
  const double p = 0.9, sum = 1.0 / 1 * p + 1.0 / 2 * p * p + 3.0 / 3 * p * p * p;
  EXPECT_NEAR(rank_biased_overlap(Ids{"a", "b", "c"}, Ids{"a", "c", "b"}),
              1.0 * p * p * p + (1 - p) / p * sum, 1e-12);
  // Swapping the first two ranks costs more than swapping the last two.
  EXPECT_LT(rank_biased_overlap(base, Ids{"b", "a", "c", "d"}),
            rank_biased_overlap(base, Ids{"a", "b", "d", "c"}));
  EXPECT_NEAR(rank_biased_overlap(Ids{}, Ids{}), 1.0, 1e-12);
}

TEST(SemanticMetricsTest, MergeKeepsEachIdOnceAtItsBestDistance) {
  const std::vector<std::vector<QueryHit>> lists{{{"a", 0.5f}, {"b", 0.7f}},
                                                 {{"c", 0.1f}, {"a", 0.3f}, {"d", 0.7f}}};
  EXPECT_EQ(merge_answers(lists, 3),
            (std::vector<QueryHit>{{"c", 0.1f}, {"a", 0.3f}, {"b", 0.7f}}));
  EXPECT_EQ(merge_answers(lists, 10).size(), 4u);
}

// The rows of `raw` as a reference stream: records "r<i>" in row order (a copy is kept, so the
// stream may outlive the caller's matrix).
RowStream stream_of(const RowMatrix& raw) {
  return [raw](const ReferenceSet::Visitor& visit) -> Status {
    for (Eigen::Index i = 0; i < raw.rows(); ++i) {
      Record r;
      r.id = "r" + std::to_string(i);
      r.embedding.assign(raw.row(i).data(), raw.row(i).data() + raw.cols());
      CM_RETURN_IF_ERROR(visit(r));
    }
    return ok_status();
  };
}

// Exact top-k per space: common/store/distance.hpp via ReferenceMatrix vs plain double-precision
// loops.
TEST(SemanticMetricsTest, ExactTopKMatchesBruteForceInEverySpace) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::size_t n = 5000, dim = 6, k = 7;  // > one 4096-row block
  RowMatrix raw(n, dim), queries(3, dim);
  for (Eigen::Index i = 0; i < raw.size(); ++i) raw.data()[i] = normal(rng);
  for (Eigen::Index i = 0; i < queries.size(); ++i) queries.data()[i] = normal(rng);
  queries.row(2) = raw.row(42);  // a query that is a stored vector
  for (auto space : {DistanceSpace::kL2, DistanceSpace::kCosine, DistanceSpace::kIp}) {
    SCOPED_TRACE(distance_space_name(space));
    const auto stream = stream_of(raw);
    RowMatrix q = queries;
    prepare_rows(space, q);
    const std::vector<std::size_t> ks{k, k, k};
    auto tops = exact_top_k(stream, space, dim, q, ks, 100, n);
    ASSERT_TRUE(tops) << tops.error().message;
    const auto& got = tops->all;
    IdHashSet wanted;
    for (const auto& list : got)
      for (const auto& h : list) wanted.insert(id_hash(h.id));
    auto m = ReferenceMatrix::load(stream, space, dim, wanted);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->ids.size(), wanted.size()) << "only the wanted rows are kept";
    for (Eigen::Index qi = 0; qi < queries.rows(); ++qi) {
      std::vector<std::pair<double, std::string>> all;
      for (std::size_t i = 0; i < n; ++i) {
        double dot = 0, aa = 0, bb = 0, l2 = 0;
        for (std::size_t d = 0; d < dim; ++d) {
          const double a = raw(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(d)),
                       b = queries(qi, static_cast<Eigen::Index>(d));
          dot += a * b, aa += a * a, bb += b * b, l2 += (a - b) * (a - b);
        }
        const double dist = space == DistanceSpace::kL2   ? l2
                            : space == DistanceSpace::kIp ? 1 - dot
                                                          : 1 - dot / std::sqrt(aa * bb);
        all.emplace_back(dist, "r" + std::to_string(i));
      }
      std::sort(all.begin(), all.end());
      const auto& hits = got[static_cast<std::size_t>(qi)];
      ASSERT_EQ(hits.size(), k);
      for (std::size_t r = 0; r < k; ++r) {
        EXPECT_EQ(hits[r].id, all[r].second) << "query " << qi << " rank " << r;
        EXPECT_NEAR(hits[r].distance, all[r].first, 1e-5 * std::max(1.0, std::abs(all[r].first)));
        // The per-id lookup used to judge answers agrees with the block computation.
        EXPECT_NEAR(*m->distance(q, static_cast<std::size_t>(qi), hits[r].id), hits[r].distance,
                    1e-5);
      }
    }
    // A stored vector is its own nearest neighbour, except in ip, where longer vectors win.
    if (space != DistanceSpace::kIp) {
      EXPECT_EQ(got[2][0].id, "r42");
    }
    EXPECT_FALSE(m->distance(q, 0, "unknown"));
    // The source-only lists cover the first 100 rows alone.
    for (const auto& list : tops->source_only) {
      ASSERT_EQ(list.size(), k);
      for (const auto& h : list) EXPECT_LT(std::stoul(h.id.substr(1)), 100u) << h.id;
    }
    // A stream that gives fewer rows than expected: a snapshot changed while it was read.
    EXPECT_FALSE(exact_top_k(stream, space, dim, q, ks, 0, n + 1));
  }
}

// --- Non-finite distances (ip with components ~3e28: the dot product overflows float32) ---

TEST(SemanticMetricsTest, NonFiniteDistancesRankAfterEveryFiniteOne) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(distance_before(0.5f, nan));
  EXPECT_TRUE(distance_before(1e30f, -inf));  // -inf carries no order either
  EXPECT_FALSE(distance_before(nan, 0.5f));
  EXPECT_FALSE(distance_before(nan, inf));
  EXPECT_FALSE(distance_before(inf, nan));
  // A server's null distances (NaN) go last, ties by id; each id once at its best distance.
  const std::vector<std::vector<QueryHit>> lists{{{"z", nan}, {"b", 0.7f}, {"y", nan}},
                                                 {{"a", 0.2f}, {"x", -inf}, {"b", nan}}};
  const auto merged = merge_answers(lists, 10);
  ASSERT_EQ(merged.size(), 5u);
  EXPECT_EQ(ids_of(merged), (std::vector<std::string>{"a", "b", "x", "y", "z"}));
  EXPECT_EQ(merged[1].distance, 0.7f);
  // A non-finite exact distance is never a tie (-inf <= kth would otherwise count).
  const std::vector<QueryHit> exact{{"a", 0.1f}, {"b", 0.2f}};
  EXPECT_DOUBLE_EQ(*recall_with_ties(exact, std::vector<JudgedHit>{{"a", 0.1f}, {"h", -inf}}, 1e-3),
                   0.5);
  EXPECT_DOUBLE_EQ(*recall_with_ties(exact, std::vector<JudgedHit>{{"a", 0.1f}, {"h", nan}}, 1e-3),
                   0.5);
}

TEST(SemanticMetricsTest, ExactTopKLeavesOverflowingIpDistancesOutAndCountsThem) {
  // Rows 0..2 huge (3e28 per component: every dot product with a huge query overflows), rows 3..5
  // small. A huge query overflows against the huge rows only.
  RowMatrix rows(6, 4);
  for (Eigen::Index r = 0; r < 6; ++r) {
    for (Eigen::Index c = 0; c < 4; ++c)
      rows(r, c) = r < 3 ? (c % 2 ? -3e28f : 3e28f) * float(r + 1) : 0.1f * float(r + c);
  }
  RowMatrix q(2, 4);
  q.row(0) = rows.row(0);                      // huge
  q.row(1) << 1e-30f, 1e-30f, 1e-30f, 1e-30f;  // tiny: every distance finite
  const std::vector<std::size_t> ks{5, 5};
  auto tops = exact_top_k(stream_of(rows), DistanceSpace::kIp, 4, q, ks, 0);
  ASSERT_TRUE(tops);
  EXPECT_EQ(tops->non_finite, (std::vector<std::size_t>{3, 0}));
  const auto& got = tops->all;
  ASSERT_EQ(got[0].size(), 3u);  // only the three finite ones
  for (const auto& h : got[0]) {
    EXPECT_TRUE(std::isfinite(h.distance)) << h.id;
    EXPECT_GE(h.id, "r3");
  }
  EXPECT_EQ(got[1].size(), 5u);
  // A query whose distances to every row overflow has nothing to find.
  const RowMatrix huge_rows = rows.topRows(3);
  const RowMatrix huge_query = q.topRows(1);
  const std::vector<std::size_t> k5{5};
  auto none_tops = exact_top_k(stream_of(huge_rows), DistanceSpace::kIp, 4, huge_query, k5, 0);
  ASSERT_TRUE(none_tops);
  const auto& none = none_tops->all;
  EXPECT_TRUE(none[0].empty());
  EXPECT_EQ(none_tops->non_finite[0], 3u);
  EXPECT_FALSE(recall_with_ties(none[0], std::vector<JudgedHit>{{"r0", std::nullopt}}, 1e-3));
}

// --- Attribution: the index's approximation vs divergence ---

TEST(SemanticMetricsTest, ShortfallOfIntactNeighboursIsApproximation) {
  const std::vector<QueryHit> exact{{"a", 0.1f}, {"b", 0.2f}, {"c", 0.3f}, {"d", 0.4f}};
  // HNSW returned a, b and two farther records at the distances their vectors give.
  const std::vector<JudgedHit> answer{
      {"a", 0.1f, 0.1f}, {"b", 0.2f, 0.2f}, {"e", 0.6f, 0.6000004f}, {"f", 0.7f, 0.7f}};
  std::vector<std::string> asked;
  auto a = attribute_shortfall(exact, answer, 1e-3, [&](const std::string& id) {
    asked.push_back(id);
    return NeighbourState::kIntact;
  });
  EXPECT_EQ(asked, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(a.truth, 4u);
  EXPECT_EQ(a.shortfall, 2u);
  EXPECT_EQ(a.missed, 2u);
  EXPECT_EQ(a.missed_intact, 2u);
  EXPECT_EQ(a.answers_changed, 0u);
  EXPECT_EQ(a.divergent, 0u);
  EXPECT_EQ(a.approximate, 2u);
  EXPECT_DOUBLE_EQ(*a.recall_without_approximation, 1.0);
  // Raw recall is 0.5: below 0.9, yet no record is wrong.
  EXPECT_DOUBLE_EQ(*recall_with_ties(exact, answer, 1e-3), 0.5);
}

TEST(SemanticMetricsTest, MissingOrChangedNeighboursAreDivergence) {
  const std::vector<QueryHit> exact{{"a", 0.1f}, {"b", 0.2f}, {"c", 0.3f}, {"d", 0.4f}};
  const std::vector<JudgedHit> answer{
      {"a", 0.1f, 0.1f}, {"b", 0.2f, 0.2f}, {"e", 0.6f, 0.6f}, {"f", 0.7f, 0.7f}};
  auto a = attribute_shortfall(exact, answer, 1e-3, [](const std::string& id) {
    return id == "c" ? NeighbourState::kMissing : NeighbourState::kChanged;
  });
  EXPECT_EQ(a.missed_missing, 1u);
  EXPECT_EQ(a.missed_changed, 1u);
  EXPECT_EQ(a.divergent, 2u);
  EXPECT_EQ(a.approximate, 0u);
  EXPECT_DOUBLE_EQ(*a.recall_without_approximation, 0.5);
  // One of each.
  auto mixed = attribute_shortfall(exact, answer, 1e-3, [](const std::string& id) {
    return id == "c" ? NeighbourState::kIntact : NeighbourState::kMissing;
  });
  EXPECT_EQ(mixed.divergent, 1u);
  EXPECT_EQ(mixed.approximate, 1u);
  EXPECT_DOUBLE_EQ(*mixed.recall_without_approximation, 0.75);
}

TEST(SemanticMetricsTest, AnswerAtADistanceItsExpectedVectorDoesNotGiveIsDivergence) {
  const std::vector<QueryHit> exact{{"a", 0.1f}, {"b", 0.2f}, {"c", 0.3f}};
  // y is reported at 0.05 but its expected vector is at 0.9: the target holds another vector;
  // u is unknown to the reference. Each displaced an (intact) true neighbour.
  const std::vector<JudgedHit> answer{
      {"y", 0.9f, 0.05f}, {"a", 0.1f, 0.1f}, {"u", std::nullopt, 0.2f}};
  auto a = attribute_shortfall(exact, answer, 1e-3,
                               [](const std::string&) { return NeighbourState::kIntact; });
  EXPECT_EQ(a.shortfall, 2u);
  EXPECT_EQ(a.missed_intact, 2u);
  EXPECT_EQ(a.answers_changed, 2u);
  EXPECT_EQ(a.divergent, 2u);
  EXPECT_NEAR(*a.recall_without_approximation, 1.0 / 3, 1e-12);
  // Divergence never exceeds the shortfall: a changed record inside the exact top-k is a hit.
  const std::vector<JudgedHit> full{{"a", 0.1f, 0.1f}, {"b", 0.2f, 0.2f}, {"c", 0.3f, 0.3f}};
  bool asked = false;
  auto none = attribute_shortfall(exact, full, 1e-3, [&](const std::string&) {
    asked = true;
    return NeighbourState::kMissing;
  });
  EXPECT_FALSE(asked);
  EXPECT_EQ(none.divergent, 0u);
  EXPECT_DOUBLE_EQ(*none.recall_without_approximation, 1.0);
}

TEST(SemanticMetricsTest, ReportedDistancesAgreeWithinTheTieToleranceAndNonFiniteWithNonFinite) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(reported_distance_agrees(0.5f, 0.5005f, 1e-3));
  EXPECT_FALSE(reported_distance_agrees(0.5f, 0.502f, 1e-3));
  EXPECT_TRUE(reported_distance_agrees(1000.0f, 1000.5f, 1e-3));  // scaled by |expected|
  EXPECT_TRUE(reported_distance_agrees(nan, -inf, 1e-3));  // a null for an overflowed product
  EXPECT_FALSE(reported_distance_agrees(nan, 0.5f, 1e-3));
  EXPECT_FALSE(reported_distance_agrees(0.5f, std::nullopt, 1e-3));
}

TEST(SemanticMetricsTest, SamplePositionsAreDistinctSortedAndReproducible) {
  auto a = sample_positions(42, "kb_articles", 5000, 25);
  ASSERT_EQ(a.size(), 25u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<std::uint64_t>(a.begin(), a.end()).size(), 25u);
  EXPECT_LT(a.back(), 5000u);
  EXPECT_EQ(a, sample_positions(42, "kb_articles", 5000, 25));
  EXPECT_NE(a, sample_positions(43, "kb_articles", 5000, 25));
  EXPECT_NE(a, sample_positions(42, "legal_clauses", 5000, 25));
  EXPECT_EQ(sample_positions(1, "x", 3, 10), (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_TRUE(sample_positions(1, "x", 0, 10).empty());
}

TEST(QueriesFileTest, ParsesBothKindsWithDefaults) {
  auto q = parse_queries(json::parse(R"({"description": "d", "queries": [
      {"collection": "kb", "record_id": "kb-1"},
      {"name": "vec", "collection": "kb", "k": 5, "embedding": [1, -0.5, 1e-3]},
      {"collection": "kb", "embedding": [0.25]}]})"),
                         "q.json");
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[0].name, "kb-1");
  EXPECT_EQ((*q)[0].record_id, "kb-1");
  EXPECT_FALSE((*q)[0].k);
  EXPECT_EQ((*q)[1].name, "vec");
  EXPECT_EQ((*q)[1].k, 5u);
  EXPECT_EQ((*q)[1].embedding, (std::vector<float>{1.0f, -0.5f, 1e-3f}));
  EXPECT_EQ((*q)[2].name, "queries[2]");
}

TEST(QueriesFileTest, ErrorsNameThePlace) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([])", "q.json: (root): must be an object"},
      {R"({"querys": []})", "q.json: querys: unknown key"},
      {R"({"queries": {}})", "q.json: queries: must be an array"},
      {R"({"queries": [3]})", "q.json: queries[0]: must be an object"},
      {R"({"queries": [{"record_id": "a"}]})",
       "q.json: queries[0].collection: must be a non-empty string"},
      {R"({"queries": [{"collection": "kb"}]})", "q.json: queries[0]: needs exactly one of"},
      {R"({"queries": [{"collection": "kb", "record_id": "a", "embedding": [1]}]})",
       "queries[0]: needs exactly one of"},
      {R"({"queries": [{"collection": "kb", "embedding": []}]})",
       "queries[0].embedding: must be a non-empty array"},
      {R"({"queries": [{"collection": "kb", "embedding": [1, "x"]}]})",
       "queries[0].embedding[1]: must be a finite number"},
      {R"({"queries": [{"collection": "kb", "embedding": [1e39]}]})",
       "queries[0].embedding[0]: must be a finite number within float32"},
      {R"({"queries": [{"collection": "kb", "record_id": ""}]})",
       "queries[0].record_id: must be a non-empty string"},
      {R"({"queries": [{"collection": "kb", "record_id": "a", "k": 0}]})",
       "queries[0].k: must be an integer in [1, 1000]"},
      {R"({"queries": [{"collection": "kb", "record_id": "a", "k": 2.5}]})",
       "queries[0].k: must be an integer"},
      {R"({"queries": [{"collection": "kb", "record_id": "a", "topk": 3}]})",
       "queries[0].topk: unknown key"},
      {R"({"queries": [{"collection": "kb", "record_id": "a"}, {"collection": "kb", "record_id": "a"}]})",
       "queries[1].name: \"a\" is used by an earlier query"},
  };
  for (const auto& [text, message] : cases) {
    auto q = parse_queries(json::parse(text), "q.json");
    ASSERT_FALSE(q) << text;
    EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(q.error().message.find(message), std::string::npos) << q.error().message;
  }
}

TEST(QueriesFileTest, LoadReportsMissingFilesAndBadJson) {
  EXPECT_EQ(load_queries("/nonexistent/q.json").error().code, ErrorCode::kNotFound);
  const auto path = std::filesystem::temp_directory_path() / "semantic_metrics_test_bad.json";
  std::ofstream(path) << "{\"queries\": [";
  auto bad = load_queries(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("semantic_metrics_test_bad.json: not valid JSON"),
            std::string::npos)
      << bad.error().message;
  std::filesystem::remove(path);
}

TEST(QueriesFileTest, TheShippedFileIsValid) {
  auto q =
      load_queries(std::filesystem::path(CM_SOURCE_DIR) / "queries" / "sample_test_queries.json");
  ASSERT_TRUE(q) << q.error().message;
  std::set<std::string> collections;
  std::size_t explicit_vectors = 0;
  for (const auto& s : *q) {
    collections.insert(s.collection);
    if (!s.record_id) {
      ++explicit_vectors;
      EXPECT_EQ(s.embedding.size(), 384u);
    }
  }
  EXPECT_EQ(collections, (std::set<std::string>{"kb_articles", "support_tickets", "product_docs",
                                                "legal_clauses"}));
  EXPECT_EQ(explicit_vectors, 1u);
}

}  // namespace
}  // namespace cm::validate
