#include "validate/semantic/collection_eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>

#include <xxhash.h>

#include "common/base/clock.hpp"
#include "common/store/id_hash_set.hpp"
#include "validate/semantic/metrics.hpp"

namespace cm::validate {
namespace {

using Clock = std::chrono::steady_clock;
struct PendingQuery {
  std::string name;
  bool sampled = false;
  std::size_t k = 0;
  std::vector<float> embedding;
};

// One store's answers for every query, merged over `collections` and cut to each query's k.
// A rejected query (e.g. a dimension the collection does not have) is a finding and leaves the
// answers empty; anything else (the server unreachable after retries) is an error.
Result<std::vector<std::vector<QueryHit>>> answers(VectorStore& store,
                                                   std::span<const CollectionInfo> collections,
                                                   std::span<const PendingQuery> queries,
                                                   const std::string& who,
                                                   std::vector<std::string>& findings) {
  std::vector<std::vector<float>> embeddings;
  std::size_t k_max = 0;
  for (const auto& q : queries) {
    embeddings.push_back(q.embedding);
    k_max = std::max(k_max, q.k);
  }
  std::vector<std::vector<std::vector<QueryHit>>> per_collection;
  for (const auto& c : collections) {
    auto got = store.query(c, embeddings, k_max);
    if (!got && got.error().code == ErrorCode::kRejected) {
      findings.push_back(who + " collection " + c.name +
                         " rejected the queries: " + got.error().message);
      continue;
    }
    if (!got && got.error().code == ErrorCode::kProtocol) {
      // The answer could not be read (not the store's data): the caller stops judging this
      // collection, not the whole test.
      return std::unexpected(std::move(got).error().with_context(who + " collection " + c.name));
    }
    if (!got)
      return std::unexpected(
          std::move(got).error().with_context("querying " + who + " collection " + c.name));
    per_collection.push_back(std::move(*got));
  }
  std::vector<std::vector<QueryHit>> out(queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    std::vector<std::vector<QueryHit>> lists;
    for (auto& answer : per_collection) lists.push_back(std::move(answer[q]));
    out[q] = merge_answers(lists, queries[q].k);
  }
  return out;
}

// An answer judged with the reference's own arithmetic.
std::vector<JudgedHit> judge(const ReferenceMatrix& m, const RowMatrix& queries, std::size_t q,
                             std::span<const QueryHit> answer) {
  std::vector<JudgedHit> out;
  for (const auto& h : answer)
    out.push_back(JudgedHit{h.id, m.distance(queries, q, h.id), h.distance});
  return out;
}

// Looked-up neighbours are fetched by explicit ids in batches of this size (Chroma Cloud caps a
// get at 300 records).
constexpr std::size_t kLookupBatch = 250;

// Whether `actual` (as the target holds it) is the reference's vector `expected` (a prepared row)
// under the embedding rule of the space: l2 and ip bit for bit; cosine compared normalised, each
// component within 16 * FLT_EPSILON (the round trip v/|v|*|v| and our normalisation are a few
// float32 roundings of unit-scale values).
bool same_vector(DistanceSpace space, std::span<const float> expected, std::vector<float> actual) {
  if (actual.size() != expected.size()) return false;
  if (space != DistanceSpace::kCosine) {
    return std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)) == 0;
  }
  prepare_vector(space, actual);
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!(std::abs(actual[i] - expected[i]) <= 16 * std::numeric_limits<float>::epsilon()))
      return false;
  }
  return true;
}

// What the target holds for each id (the routed collections, by explicit ids, batched): intact
// when some routed collection holds it with the reference's vector, changed when it holds it
// with another, missing when none holds it.
Result<std::map<std::string, NeighbourState>> look_up_neighbours(
    VectorStore& target, std::span<const CollectionInfo> collections, const ReferenceMatrix& m,
    const std::set<std::string>& ids) {
  std::map<std::string, NeighbourState> state;
  for (const auto& id : ids) state.emplace(id, NeighbourState::kMissing);
  const std::vector<std::string> all(ids.begin(), ids.end());
  for (const auto& c : collections) {
    for (std::size_t start = 0; start < all.size(); start += kLookupBatch) {
      const auto batch = std::span(all).subspan(start, std::min(kLookupBatch, all.size() - start));
      auto got = target.get_records(c, batch);
      if (!got)
        return std::unexpected(std::move(got).error().with_context(
            "fetching missed neighbours from target collection " + c.name));
      for (auto& r : *got) {
        auto it = state.find(r.id);
        auto row = m.row_of.find(id_hash(r.id));
        if (it == state.end() || row == m.row_of.end() || it->second == NeighbourState::kIntact)
          continue;
        const auto expected = m.rows.row(row->second);
        it->second = same_vector(m.space, std::span(expected.data(), expected.size()),
                                 std::move(r.embedding))
                         ? NeighbourState::kIntact
                         : NeighbourState::kChanged;
      }
    }
  }
  return state;
}

std::size_t non_finite_in(std::span<const QueryHit> hits) {
  return static_cast<std::size_t>(std::count_if(
      hits.begin(), hits.end(), [](const QueryHit& h) { return !std::isfinite(h.distance); }));
}

}  // namespace

std::vector<std::uint64_t> sample_positions(std::uint64_t seed, const std::string& collection,
                                            std::uint64_t n, std::size_t count) {
  const std::uint64_t key[2] = {seed, XXH3_64bits(collection.data(), collection.size())};
  std::mt19937_64 rng(XXH3_64bits(key, sizeof key));
  std::set<std::uint64_t> chosen;
  // Floyd's algorithm: exactly `count` distinct draws without materialising [0, n).
  for (std::uint64_t j = n - std::min<std::uint64_t>(count, n); j < n; ++j) {
    const std::uint64_t t = std::uniform_int_distribution<std::uint64_t>(0, j)(rng);
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  return {chosen.begin(), chosen.end()};
}

Result<CollectionEvaluation> evaluate_collection(ValidationContext& ctx,
                                                 const EvaluationRequest& request) {
  const CollectionInfo& source = request.source;
  CollectionEvaluation eval;
  eval.collection = source.name;
  eval.space = source.hnsw.space;
  const auto space = parse_distance_space(source.hnsw.space);
  if (!space) {
    eval.findings.push_back(source.name + ": unknown distance space \"" + source.hnsw.space + "\"");
    return eval;
  }
  if (request.targets.empty()) {
    eval.findings.push_back(source.name +
                            ": routed to no target collection (run.json); not judged");
    return eval;
  }
  // The target side: which routed collections exist and in which space.
  std::vector<CollectionInfo> target_collections;
  for (const auto& name : request.targets) {
    const auto* entry = ctx.manifest.find_target(name);  // staged: the staging collection
    CM_ASSIGN_OR_RETURN(
        auto info, ctx.target.find_collection(entry ? ctx.manifest.data_location(*entry) : name));
    eval.targets.emplace_back(name, info ? std::optional(info->hnsw.space) : std::nullopt);
    if (!info) {
      eval.findings.push_back(source.name + ": routed target collection " + name +
                              " is missing from the target: its records cannot be found");
      continue;
    }
    if (info->hnsw.space != source.hnsw.space) {
      eval.space_changed = true;
      eval.findings.push_back(source.name + ": target collection " + name +
                              " uses distance space " + info->hnsw.space +
                              ", the source collection uses " + source.hnsw.space +
                              ": rankings are no longer comparable");
    }
    target_collections.push_back(std::move(*info));
  }

  // Pass over the export: the sampled records and the records named by the queries file.
  auto start = Clock::now();
  CM_ASSIGN_OR_RETURN(std::uint64_t n, ctx.exported.count(source));
  const auto positions = sample_positions(ctx.options.seed, source.name, n, request.samples);
  std::map<std::string, std::vector<float>> wanted;  // record_id -> embedding, once found
  for (const auto& q : request.file_queries) {
    if (q.record_id) wanted.emplace(*q.record_id, std::vector<float>{});
  }
  std::vector<PendingQuery> sampled;
  std::optional<std::size_t> dim;
  if (source.dimension) dim = static_cast<std::size_t>(*source.dimension);
  std::uint64_t position = 0;
  std::size_t next_sample = 0;
  CM_ASSIGN_OR_RETURN(
      auto set, ReferenceSet::plan(ctx, source, request.targets, [&](const Record& r) -> Status {
        if (!dim) dim = r.embedding.size();
        if (next_sample < positions.size() && positions[next_sample] == position) {
          sampled.push_back(PendingQuery{
              .name = r.id, .sampled = true, .k = ctx.options.top_k, .embedding = r.embedding});
          ++next_sample;
        }
        if (auto it = wanted.find(r.id); it != wanted.end()) it->second = r.embedding;
        ++position;
        return ok_status();
      }));
  eval.reference = set.counts();
  eval.seconds_reading = seconds_since(start);

  std::vector<PendingQuery> queries;
  for (const auto& q : request.file_queries) {
    PendingQuery p{.name = q.name,
                   .sampled = false,
                   .k = q.k.value_or(ctx.options.top_k),
                   .embedding = q.embedding};
    if (q.record_id) {
      const auto& e = wanted.at(*q.record_id);
      if (e.empty()) {
        eval.findings.push_back(source.name + ": query \"" + q.name + "\": record '" +
                                *q.record_id + "' is not in the export snapshot; query skipped");
        ++eval.unresolved;
        continue;
      }
      p.embedding = e;
    }
    if (dim && p.embedding.size() != *dim) {
      eval.findings.push_back(source.name + ": query \"" + q.name + "\" has dimension " +
                              std::to_string(p.embedding.size()) + ", the collection " +
                              std::to_string(*dim) + "; query skipped");
      ++eval.unresolved;
      continue;
    }
    queries.push_back(std::move(p));
  }
  std::move(sampled.begin(), sampled.end(), std::back_inserter(queries));
  if (queries.empty() || !dim) return eval;

  start = Clock::now();
  auto target_result = answers(ctx.target, target_collections, queries, "target", eval.findings);
  if (!target_result && target_result.error().code == ErrorCode::kProtocol) {
    eval.not_judged = "the target's answers to its queries could not be read (" +
                      target_result.error().message + ")";
    return eval;
  }
  if (!target_result) return std::unexpected(std::move(target_result).error());
  auto target_answers = std::move(*target_result);
  std::optional<std::vector<std::vector<QueryHit>>> live_answers;
  if (ctx.live_source) {
    CM_ASSIGN_OR_RETURN(auto live, ctx.live_source->find_collection(source.name));
    if (live) {
      auto got =
          answers(*ctx.live_source, std::span(&*live, 1), queries, "live source", eval.findings);
      if (!got && got.error().code == ErrorCode::kProtocol) {
        eval.findings.push_back(source.name +
                                ": the live source's answers could not be read; the "
                                "server-to-server comparison is skipped (" +
                                got.error().message + ")");
      } else if (!got) {
        return std::unexpected(std::move(got).error());
      } else {
        live_answers = std::move(*got);
      }
    } else {
      eval.findings.push_back(source.name +
                              ": not found on the live source server; the "
                              "server-to-server comparison is skipped");
    }
  }
  eval.seconds_target = seconds_since(start);

  start = Clock::now();
  std::vector<std::size_t> ks;
  RowMatrix prepared(static_cast<Eigen::Index>(queries.size()), static_cast<Eigen::Index>(*dim));
  for (std::size_t q = 0; q < queries.size(); ++q) {
    ks.push_back(queries[q].k);
    prepared.row(static_cast<Eigen::Index>(q)) =
        Eigen::Map<const Eigen::RowVectorXf>(queries[q].embedding.data(), prepared.cols());
  }
  prepare_rows(*space, prepared);
  std::vector<std::vector<QueryHit>> exact;
  const double tolerance = ctx.thresholds.distance_tie_tolerance;
  {
    // The old server only knows the source collection: it is judged against the source's own
    // records (source_only).
    CM_ASSIGN_OR_RETURN(auto tops,
                        exact_top_k(rows_of(set), *space, *dim, prepared, ks,
                                    live_answers ? eval.reference.landed : 0, set.counts().rows()));
    exact = std::move(tops.all);
    const std::vector<std::size_t> non_finite = std::move(tops.non_finite);
    const std::vector<std::vector<QueryHit>> exact_source = std::move(tops.source_only);
    // Second pass: the vectors of the records a judgement reads (the answers' and the exact
    // neighbours'), a few per query instead of the whole collection.
    IdHashSet judged_ids;
    for (const auto* lists : {&exact, &target_answers}) {
      for (const auto& list : *lists)
        for (const auto& h : list) judged_ids.insert(id_hash(h.id));
    }
    if (live_answers) {
      for (const auto& list : *live_answers)
        for (const auto& h : list) judged_ids.insert(id_hash(h.id));
    }
    CM_ASSIGN_OR_RETURN(auto matrix, ReferenceMatrix::load(rows_of(set), *space, *dim, judged_ids));
    std::vector<std::vector<JudgedHit>> judged(queries.size());
    std::set<std::string> to_look_up;  // exact neighbours some answer missed
    for (std::size_t q = 0; q < queries.size(); ++q) {
      QueryOutcome o;
      o.name = queries[q].name;
      o.sampled = queries[q].sampled;
      o.k = queries[q].k;
      const auto& got = target_answers[q];
      o.exact_non_finite = non_finite[q];
      o.target_non_finite = non_finite_in(got);
      o.excluded_non_finite = exact[q].empty() && o.exact_non_finite > 0;
      judged[q] = judge(matrix, prepared, q, got);
      o.recall = recall_with_ties(exact[q], judged[q], tolerance);
      o.jaccard = jaccard(ids_of(exact[q]), ids_of(got));
      o.rbo = rank_biased_overlap(ids_of(exact[q]), ids_of(got));
      if (o.recall && *o.recall < 1.0) {
        for (auto& id : missed_neighbours(exact[q], judged[q])) to_look_up.insert(std::move(id));
      }
      if (live_answers) {
        const auto& live = (*live_answers)[q];
        // The live answer as a reference: its records at our (finite) distances, ascending.
        std::vector<QueryHit> reference;
        for (const auto& h : judge(matrix, prepared, q, live)) {
          if (h.exact_distance && std::isfinite(*h.exact_distance))
            reference.push_back(QueryHit{h.id, *h.exact_distance});
        }
        std::stable_sort(reference.begin(), reference.end(),
                         [](const QueryHit& a, const QueryHit& b) {
                           return distance_before(a.distance, b.distance);
                         });
        o.live_recall = recall_with_ties(reference, judged[q], tolerance);
        o.live_exact_recall =
            recall_with_ties(exact_source[q], judge(matrix, prepared, q, live), tolerance);
      }
      eval.outcomes.push_back(std::move(o));
    }
    // Attribution: every missed neighbour looked up once in the target, by explicit ids.
    std::map<std::string, NeighbourState> states;
    if (!to_look_up.empty()) {
      CM_ASSIGN_OR_RETURN(states,
                          look_up_neighbours(ctx.target, target_collections, matrix, to_look_up));
      eval.neighbours_looked_up = to_look_up.size();
    }
    const auto state_of = [&](const std::string& id) {
      auto it = states.find(id);
      return it == states.end() ? NeighbourState::kMissing : it->second;
    };
    for (std::size_t q = 0; q < queries.size(); ++q) {
      eval.outcomes[q].attribution = attribute_shortfall(exact[q], judged[q], tolerance, state_of);
    }
  }  // the rows are freed here
  const auto excluded = static_cast<std::size_t>(
      std::count_if(eval.outcomes.begin(), eval.outcomes.end(),
                    [](const QueryOutcome& o) { return o.excluded_non_finite; }));
  if (!eval.outcomes.empty() && excluded == eval.outcomes.size()) {
    eval.not_judged = "every query's distances to its records are non-finite (" +
                      std::string(distance_space_name(*space)) +
                      " arithmetic overflows float32 on these vectors; the server answers null "
                      "distances): there is no finite ranking to compare";
  }
  eval.seconds_exact = seconds_since(start);
  for (const auto& target : request.targets) {
    CM_ASSIGN_OR_RETURN(auto held, ctx.expected.find_collection(target));
    if (held) eval.baseline.targets.push_back(target);
  }
  eval.baseline.space = *space;
  eval.baseline.queries = std::move(prepared);
  eval.baseline.ks = std::move(ks);
  eval.baseline.exact = std::move(exact);
  return eval;
}

}  // namespace cm::validate
