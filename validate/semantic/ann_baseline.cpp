#include "validate/semantic/ann_baseline.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "validate/hnsw_index.hpp"
#include "validate/semantic/metrics.hpp"

namespace cm::validate {
namespace {

// Rows gathered before a parallel insert: enough to keep the threads busy, negligible in size.
constexpr std::size_t kInsertBatch = 2048;

std::size_t insert_threads() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
}

class Index {
 public:
  static Result<std::unique_ptr<Index>> create(DistanceSpace space, std::size_t dim,
                                               std::size_t capacity, const AnnParameters& p) {
    CM_ASSIGN_OR_RETURN(
        auto hnsw, HnswIndex::create(space == DistanceSpace::kL2 ? HnswIndex::Metric::kL2
                                                                 : HnswIndex::Metric::kInnerProduct,
                                     dim, capacity, p.m, p.ef_construction));
    hnsw->set_ef(p.ef_search);
    return std::unique_ptr<Index>(new Index(space, dim, std::move(hnsw)));
  }

  // Records of another dimension are left out (the exact pass already failed on them, or they
  // belong to a source of another dimension routed to the same collection).
  Status add(const Record& r) {
    if (r.embedding.size() != dim_) return ok_status();
    auto row = batch_.row(static_cast<Eigen::Index>(filled_));
    row = Eigen::Map<const Eigen::RowVectorXf>(r.embedding.data(), batch_.cols());
    prepare_vector(space_, std::span<float>(row.data(), dim_));
    ids_.push_back(r.id);
    return ++filled_ == kInsertBatch ? flush() : ok_status();
  }

  Status flush() {
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    Status failure = ok_status();
    const std::size_t base = ids_.size() - filled_;  // label of batch row 0
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < std::min(insert_threads(), filled_); ++t) {
      threads.emplace_back([&] {
        for (std::size_t i; (i = next++) < filled_;) {
          if (Status s = hnsw_->add(batch_.row(static_cast<Eigen::Index>(i)).data(), base + i);
              !s) {
            std::lock_guard lock(mutex);
            failure = std::move(s);
            return;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    filled_ = 0;
    return failure;
  }

  Result<std::vector<QueryHit>> search(const float* prepared_query, std::size_t k) const {
    CM_ASSIGN_OR_RETURN(auto found, hnsw_->search(prepared_query, k));
    std::vector<QueryHit> out;
    for (const auto& n : found) out.push_back(QueryHit{ids_[n.label], n.distance});
    return out;
  }
  std::size_t size() const { return ids_.size(); }

 private:
  Index(DistanceSpace space, std::size_t dim, std::unique_ptr<HnswIndex> hnsw)
      : space_(space),
        dim_(dim),
        hnsw_(std::move(hnsw)),
        batch_(static_cast<Eigen::Index>(kInsertBatch), static_cast<Eigen::Index>(dim)) {}

  DistanceSpace space_;
  std::size_t dim_;
  std::unique_ptr<HnswIndex> hnsw_;
  RowMatrix batch_;
  std::size_t filled_ = 0;
  std::vector<std::string> ids_;  // label -> id
};

}  // namespace

std::uint64_t baseline_index_bytes(std::uint64_t records, std::size_t dim, const AnnParameters& p) {
  return records * (dim * sizeof(float) + 2 * p.m * sizeof(std::uint32_t) + 64);
}

BaselineNeed baseline_need(const CollectionEvaluation& eval, double recall_threshold,
                           double recall_floor) {
  BaselineNeed need = BaselineNeed::kNone;
  for (const auto& o : eval.outcomes) {
    if (!o.recall || *o.recall >= recall_threshold) continue;
    if (o.attribution.divergent > 0 || *o.recall < recall_floor) return BaselineNeed::kNeeded;
    need = BaselineNeed::kExplained;
  }
  return need;
}

Result<nlohmann::json> run_baselines(ValidationContext& ctx,
                                     std::vector<CollectionEvaluation>& evaluations,
                                     double tolerance, double recall_threshold,
                                     AnnParameters parameters) {
  // (target collection, space) -> the evaluations whose queries it answers.
  std::map<std::pair<std::string, DistanceSpace>, std::vector<std::size_t>> indexes;
  // answers[e][q]: one list per routed collection, merged at the end.
  std::vector<std::vector<std::vector<std::vector<QueryHit>>>> answers(evaluations.size());
  std::unique_ptr<SnapshotStore> backup;
  // complete[e]: every routed collection of evaluation e was indexed (its baseline is judged).
  std::vector<bool> complete(evaluations.size(), false);
  nlohmann::json figures = nlohmann::json::object();
  for (std::size_t e = 0; e < evaluations.size(); ++e) {
    const auto& b = evaluations[e].baseline;
    answers[e].resize(b.ks.size());
    if (b.ks.empty()) continue;
    const BaselineNeed need =
        baseline_need(evaluations[e], recall_threshold, parameters.recall_floor);
    if (need == BaselineNeed::kExplained) {
      for (const auto& target : b.targets) {
        figures[target] = {{"space", distance_space_name(b.space)},
                           {"not_built",
                            "every query below the recall threshold missed only "
                            "neighbours the target holds intact (the index's "
                            "approximation), at a recall above the warning floor"}};
      }
    }
    if (need != BaselineNeed::kNeeded) continue;
    complete[e] = true;
    for (const auto& target : b.targets) {
      indexes[{target, b.space}].push_back(e);
      if (!backup && merged_by_run(ctx, target)) {
        CM_ASSIGN_OR_RETURN(backup, open_backup(ctx));
      }
    }
  }
  for (const auto& [key, users] : indexes) {
    const auto start = std::chrono::steady_clock::now();
    const auto& [target, space] = key;
    const std::size_t dim =
        static_cast<std::size_t>(evaluations[users.front()].baseline.queries.cols());
    CM_ASSIGN_OR_RETURN(auto info, ctx.expected.find_collection(target));
    CM_ASSIGN_OR_RETURN(std::uint64_t capacity, ctx.expected.count(*info));
    if (backup && merged_by_run(ctx, target)) {
      if (auto before = backup->find_collection(target); before && *before) {
        CM_ASSIGN_OR_RETURN(std::uint64_t kept, backup->count(**before));
        capacity += kept;
      }
    }
    if (const auto bytes = baseline_index_bytes(capacity, dim, parameters);
        bytes > parameters.memory_budget_bytes) {
      figures[target] = {
          {"space", distance_space_name(space)},
          {"records", capacity},
          {"skipped", "an index over " + std::to_string(capacity) + " records would take about " +
                          std::to_string(bytes >> 20) + " MB, over the " +
                          std::to_string(parameters.memory_budget_bytes >> 20) +
                          " MB bound of validation"}};
      for (const std::size_t e : users) complete[e] = false;  // their baseline stays unset
      continue;
    }
    CM_ASSIGN_OR_RETURN(auto index, Index::create(space, dim, capacity, parameters));
    auto failed = [&](Error error) {
      return std::unexpected(std::move(error).with_context("hnswlib baseline over " + target));
    };
    if (auto s = stream_target_content(ctx, target, backup.get(),
                                       [&](const Record& r) { return index->add(r); });
        !s)
      return failed(std::move(s).error());
    if (auto s = index->flush(); !s) return failed(std::move(s).error());
    for (const std::size_t e : users) {
      const auto& b = evaluations[e].baseline;
      for (std::size_t q = 0; q < b.ks.size(); ++q) {
        auto hits = index->search(b.queries.row(static_cast<Eigen::Index>(q)).data(), b.ks[q]);
        if (!hits) return failed(std::move(hits).error());
        answers[e][q].push_back(std::move(*hits));
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    figures[target] = {
        {"space", distance_space_name(space)}, {"records", index->size()}, {"seconds", seconds}};
  }
  for (std::size_t e = 0; e < evaluations.size(); ++e) {
    if (!complete[e]) continue;
    auto& eval = evaluations[e];
    for (std::size_t q = 0; q < eval.baseline.ks.size() && q < eval.outcomes.size(); ++q) {
      std::vector<JudgedHit> judged;  // hnswlib's distances are in the same space
      for (const auto& h : merge_answers(answers[e][q], eval.baseline.ks[q]))
        judged.push_back(JudgedHit{h.id, h.distance});
      eval.outcomes[q].baseline_recall =
          recall_with_ties(eval.baseline.exact[q], judged, tolerance);
    }
  }
  return figures;
}

}  // namespace cm::validate
