// A local hnswlib index behind a small interface. This is the only translation unit that includes
// hnswlib: Debian's hnswlib 0.6 defines functions and variables in its headers without `inline`,
// so two files including it clash at link time. Callers (the near-duplicate search and the
// semantic-search baseline) never see hnswlib's types or its exceptions: errors come back as
// values.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "common/base/error.hpp"

namespace cm::validate {

class HnswIndex {
 public:
  // kL2: squared euclidean; kInnerProduct: 1 - dot (cosine when the vectors are normalised).
  enum class Metric { kL2, kInnerProduct };
  struct Neighbour {
    std::size_t label;
    float distance;
  };

  static Result<std::unique_ptr<HnswIndex>> create(Metric metric, std::size_t dimension,
                                                   std::size_t capacity, std::size_t m,
                                                   std::size_t ef_construction);
  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  // `vector` points at `dimension` floats. Safe to call from several threads at once (hnswlib
  // locks per element); fails when the index is full or out of memory.
  Status add(const float* vector, std::size_t label);
  // Search breadth (hnswlib searches with max(ef, k)). Not thread-safe: set it before searching.
  void set_ef(std::size_t ef);
  // The k nearest labels, ascending by distance. Safe to call concurrently with other searches,
  // not with add().
  Result<std::vector<Neighbour>> search(const float* query, std::size_t k) const;

 private:
  struct Impl;
  explicit HnswIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cm::validate
