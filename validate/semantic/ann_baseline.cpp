#include "validate/semantic/ann_baseline.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

// Debian's hnswlib 0.6 defines functions in its headers without `inline`, so two translation
// units including it clash at link time (validate/checks/near_duplicates.cpp includes it too).
// This file gets a private copy inside an anonymous namespace; every standard header hnswlib
// uses is included first so that none of them lands inside the namespace.
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <cpuid.h>
#include <x86intrin.h>
#endif
#include <cassert>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>
namespace {
#include <hnswlib/hnswlib.h>
}  // namespace

#include "validate/semantic/metrics.hpp"

namespace cm::validate {
namespace {

// Rows gathered before a parallel insert: enough to keep the threads busy, negligible in size.
constexpr std::size_t kInsertBatch = 2048;

std::size_t thread_count() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
}

class Index {
 public:
  Index(DistanceSpace space, std::size_t dim, std::size_t capacity, const AnnParameters& p)
      : space_(space),
        dim_(dim),
        batch_(static_cast<Eigen::Index>(kInsertBatch), static_cast<Eigen::Index>(dim)) {
    if (space == DistanceSpace::kL2) {
      metric_ = std::make_unique<hnswlib::L2Space>(dim);
    } else {
      metric_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
    }
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        metric_.get(), std::max<std::size_t>(capacity, 1), p.m, p.ef_construction);
    ef_search_ = p.ef_search;
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
    std::string failure;
    const std::size_t base = ids_.size() - filled_;  // label of batch row 0
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < std::min(thread_count(), filled_); ++t) {
      threads.emplace_back([&] {
        try {
          for (std::size_t i; (i = next++) < filled_;) {
            index_->addPoint(batch_.row(static_cast<Eigen::Index>(i)).data(), base + i);
          }
        } catch (const std::exception& e) {  // hnswlib reports failures by throwing
          std::lock_guard lock(mutex);
          failure = e.what();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    filled_ = 0;
    if (!failure.empty()) return make_error(ErrorCode::kInternal, "hnswlib baseline: " + failure);
    return ok_status();
  }

  std::vector<QueryHit> search(const float* prepared_query, std::size_t k) {
    std::vector<QueryHit> out;
    if (ids_.empty() || k == 0) return out;
    index_->setEf(std::max(ef_search_, k));
    auto found = index_->searchKnn(prepared_query, std::min(k, ids_.size()));
    for (; !found.empty(); found.pop())
      out.push_back(QueryHit{ids_[found.top().second], found.top().first});
    std::reverse(out.begin(), out.end());  // a max-heap pops the farthest first
    return out;
  }
  std::size_t size() const { return ids_.size(); }

 private:
  DistanceSpace space_;
  std::size_t dim_;
  std::size_t ef_search_ = 100;
  std::unique_ptr<hnswlib::SpaceInterface<float>> metric_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
  RowMatrix batch_;
  std::size_t filled_ = 0;
  std::vector<std::string> ids_;  // label -> id
};

}  // namespace

Result<nlohmann::json> run_baselines(ValidationContext& ctx,
                                     std::vector<CollectionEvaluation>& evaluations,
                                     double tolerance, AnnParameters parameters) {
  // (target collection, space) -> the evaluations whose queries it answers.
  std::map<std::pair<std::string, DistanceSpace>, std::vector<std::size_t>> indexes;
  // answers[e][q]: one list per routed collection, merged at the end.
  std::vector<std::vector<std::vector<std::vector<QueryHit>>>> answers(evaluations.size());
  std::unique_ptr<SnapshotStore> backup;
  for (std::size_t e = 0; e < evaluations.size(); ++e) {
    const auto& b = evaluations[e].baseline;
    answers[e].resize(b.ks.size());
    if (b.ks.empty()) continue;
    for (const auto& target : b.targets) {
      indexes[{target, b.space}].push_back(e);
      if (!backup && merged_by_run(ctx, target)) {
        CM_ASSIGN_OR_RETURN(backup, open_backup(ctx));
      }
    }
  }
  nlohmann::json figures = nlohmann::json::object();
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
    try {
      Index index(space, dim, capacity, parameters);
      CM_RETURN_IF_ERROR(stream_target_content(ctx, target, backup.get(),
                                               [&](const Record& r) { return index.add(r); }));
      CM_RETURN_IF_ERROR(index.flush());
      for (const std::size_t e : users) {
        const auto& b = evaluations[e].baseline;
        for (std::size_t q = 0; q < b.ks.size(); ++q) {
          answers[e][q].push_back(
              index.search(b.queries.row(static_cast<Eigen::Index>(q)).data(), b.ks[q]));
        }
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      figures[target] = {
          {"space", distance_space_name(space)}, {"records", index.size()}, {"seconds", seconds}};
    } catch (const std::exception& e) {  // hnswlib throws on allocation failures
      return make_error(ErrorCode::kInternal, "hnswlib baseline over " + target + ": " + e.what());
    }
  }
  for (std::size_t e = 0; e < evaluations.size(); ++e) {
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
