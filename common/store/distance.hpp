// Exact nearest-neighbour arithmetic in Chroma's three distance spaces, shared by the snapshot
// store's brute-force query and chroma-validate's semantic-search check.
//
// Definitions (what Chroma's hnswlib answers, so figures compare directly with a server's):
//   l2:     squared euclidean distance, sum (a_i - b_i)^2, computed from the differences (not
//           |a|^2 + |b|^2 - 2ab, which loses every digit for near-duplicates of large vectors);
//   cosine: 1 - dot(a/|a|, b/|b|); a zero vector stays zero when normalised (distance 1 to all);
//   ip:     1 - dot(a, b).
// Arithmetic is float32 like the server's; summation order differs, so values agree with a
// server's to ~1e-6 relative, not bit for bit.
//
// "Prepared" vectors are in the form distances are computed on: cosine vectors normalised, l2 and
// ip vectors unchanged. Callers prepare points and queries once and then use the cheap kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>

namespace cm {

enum class DistanceSpace { kL2, kCosine, kIp };

// "l2" | "cosine" | "ip"; nullopt for anything else.
std::optional<DistanceSpace> parse_distance_space(std::string_view name);
const char* distance_space_name(DistanceSpace space);

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Normalises every row in place for cosine; a no-op for l2 and ip.
void prepare_rows(DistanceSpace space, RowMatrix& rows);
void prepare_vector(DistanceSpace space, std::span<float> v);

// Distance between two prepared vectors of the same dimension.
float prepared_distance(DistanceSpace space, const float* a, const float* b, std::size_t dim);

// Distances between every prepared point (rows of `points`) and every prepared query (rows of
// `queries`): result(p, q). Column-major so each query's column is contiguous. The dimensions
// must agree (callers check; Eigen asserts).
Eigen::MatrixXf distance_block(DistanceSpace space, const Eigen::Ref<const RowMatrix>& points,
                               const Eigen::Ref<const RowMatrix>& queries);

// Keeps the k smallest (distance, key) pairs offered; equal distances are ordered by key so the
// answer does not depend on the order of offers. Keys: row numbers, or id strings.
template <typename Key>
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }

  // Cheap rejection first: most offers in a large scan lose against the current k-th.
  bool would_accept(float distance) const {
    return k_ > 0 && (heap_.size() < k_ || distance <= heap_.front().first);
  }
  void offer(float distance, const Key& key) {
    if (!would_accept(distance)) return;
    std::pair<float, Key> entry(distance, key);
    if (heap_.size() < k_) {
      heap_.push_back(std::move(entry));
      std::push_heap(heap_.begin(), heap_.end());
    } else if (entry < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = std::move(entry);
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  std::size_t k() const { return k_; }
  // Ascending by (distance, key); leaves the accumulator empty.
  std::vector<std::pair<float, Key>> take() {
    std::sort_heap(heap_.begin(), heap_.end());
    return std::exchange(heap_, {});
  }

 private:
  std::size_t k_;
  std::vector<std::pair<float, Key>> heap_;  // max-heap on (distance, key)
};

}  // namespace cm
