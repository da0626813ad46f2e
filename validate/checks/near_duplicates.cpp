#include "validate/checks/near_duplicates.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "validate/hnsw_index.hpp"

namespace cm::validate {
namespace {

constexpr std::size_t kM = 16;
constexpr std::size_t kEfConstruction = 100;
constexpr std::size_t kEfSearch = 64;
constexpr std::size_t kNeighbours =
    4;  // self plus a few: enough to see a copy next to its original

std::size_t thread_count() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
}

// Runs f(i) for i in [0, n) on a few threads; the first failure stops each thread's loop and is
// returned.
template <typename F>
Status parallel_for(std::size_t n, F&& f) {
  std::mutex mu;
  Status first = ok_status();
  std::vector<std::thread> threads;
  const std::size_t workers = std::min(thread_count(), std::max<std::size_t>(n, 1));
  for (std::size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (std::size_t i = w; i < n; i += workers) {
        if (Status s = f(i); !s) {
          std::lock_guard lock(mu);
          if (first) first = std::move(s);
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first;
}

}  // namespace

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

NearDuplicateIndex::NearDuplicateIndex(std::size_t dimension, std::size_t capacity)
    : dimension_(dimension) {
  vectors_.reserve(capacity * dimension);
  ids_.reserve(capacity);
}

void NearDuplicateIndex::add(const Record& r, bool suspect) {
  double norm = 0;
  bool usable = r.embedding.size() == dimension_;
  for (std::size_t i = 0; usable && i < dimension_; ++i) {
    usable = std::isfinite(r.embedding[i]);
    norm += double{r.embedding[i]} * r.embedding[i];
  }
  if (!usable || norm <= 0) {
    ++skipped_;
    return;
  }
  const double scale = 1.0 / std::sqrt(norm);
  for (float x : r.embedding) vectors_.push_back(static_cast<float>(x * scale));
  if (suspect) suspects_.push_back(ids_.size());
  ids_.push_back(r.id);
}

Result<std::vector<NearDuplicateIndex::Pair>> NearDuplicateIndex::suspect_pairs(
    double threshold, std::size_t max_pairs) const {
  std::vector<Pair> out;
  if (suspects_.empty()) return out;
  CM_ASSIGN_OR_RETURN(auto index, HnswIndex::create(HnswIndex::Metric::kInnerProduct, dimension_,
                                                    suspects_.size(), kM, kEfConstruction));
  // Label = the suspect's index into ids_, so answers name records directly.
  CM_RETURN_IF_ERROR(parallel_for(suspects_.size(), [&](std::size_t i) {
    return index->add(vectors_.data() + suspects_[i] * dimension_, suspects_[i]);
  }));
  const std::size_t k = std::min(kNeighbours, suspects_.size());
  index->set_ef(kEfSearch);
  std::mutex mu;
  std::map<std::pair<std::size_t, std::size_t>, double> pairs;
  CM_RETURN_IF_ERROR(parallel_for(ids_.size(), [&](std::size_t record) -> Status {
    CM_ASSIGN_OR_RETURN(auto found, index->search(vectors_.data() + record * dimension_, k));
    for (const auto& [other, distance] : found) {
      const double sim = 1.0 - static_cast<double>(distance);
      if (other == record || sim < threshold) continue;
      std::lock_guard lock(mu);
      if (pairs.size() < max_pairs) pairs.emplace(std::minmax<std::size_t>(record, other), sim);
    }
    return ok_status();
  }));
  for (const auto& [p, sim] : pairs) {
    auto a = ids_[p.first], b = ids_[p.second];
    if (b < a) std::swap(a, b);
    out.push_back({std::move(a), std::move(b), sim});
  }
  return out;
}

}  // namespace cm::validate
