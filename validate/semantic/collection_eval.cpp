#include "validate/semantic/collection_eval.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include <xxhash.h>

#include "validate/semantic/metrics.hpp"

namespace cm::validate {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

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
  for (const auto& h : answer) out.push_back(JudgedHit{h.id, m.distance(queries, q, h.id)});
  return out;
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
  eval.seconds_reading = since(start);

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
  CM_ASSIGN_OR_RETURN(auto target_answers,
                      answers(ctx.target, target_collections, queries, "target", eval.findings));
  std::optional<std::vector<std::vector<QueryHit>>> live_answers;
  if (ctx.live_source) {
    CM_ASSIGN_OR_RETURN(auto live, ctx.live_source->find_collection(source.name));
    if (live) {
      CM_ASSIGN_OR_RETURN(live_answers, answers(*ctx.live_source, std::span(&*live, 1), queries,
                                                "live source", eval.findings));
    } else {
      eval.findings.push_back(source.name +
                              ": not found on the live source server; the "
                              "server-to-server comparison is skipped");
    }
  }
  eval.seconds_target = since(start);

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
    CM_ASSIGN_OR_RETURN(auto matrix, ReferenceMatrix::load(set, *space, *dim));
    exact = matrix.top_k(prepared, ks);
    // The old server only knows the source collection: judge it against the source's own records.
    std::vector<std::vector<QueryHit>> exact_source;
    if (live_answers) exact_source = matrix.top_k(prepared, ks, eval.reference.landed);
    for (std::size_t q = 0; q < queries.size(); ++q) {
      QueryOutcome o;
      o.name = queries[q].name;
      o.sampled = queries[q].sampled;
      o.k = queries[q].k;
      const auto& got = target_answers[q];
      o.recall = recall_with_ties(exact[q], judge(matrix, prepared, q, got), tolerance);
      o.jaccard = jaccard(ids_of(exact[q]), ids_of(got));
      o.rbo = rank_biased_overlap(ids_of(exact[q]), ids_of(got));
      if (live_answers) {
        const auto& live = (*live_answers)[q];
        // The live answer as a reference: its records at our distances, ascending.
        std::vector<QueryHit> reference;
        for (const auto& h : judge(matrix, prepared, q, live)) {
          if (h.exact_distance) reference.push_back(QueryHit{h.id, *h.exact_distance});
        }
        std::stable_sort(
            reference.begin(), reference.end(),
            [](const QueryHit& a, const QueryHit& b) { return a.distance < b.distance; });
        o.live_recall = recall_with_ties(reference, judge(matrix, prepared, q, got), tolerance);
        o.live_exact_recall =
            recall_with_ties(exact_source[q], judge(matrix, prepared, q, live), tolerance);
      }
      eval.outcomes.push_back(std::move(o));
    }
  }  // the matrix is freed here
  eval.seconds_exact = since(start);
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
