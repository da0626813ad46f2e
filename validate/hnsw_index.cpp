#include "validate/hnsw_index.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <hnswlib/hnswlib.h>

namespace cm::validate {

struct HnswIndex::Impl {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::create(Metric metric, std::size_t dimension,
                                                     std::size_t capacity, std::size_t m,
                                                     std::size_t ef_construction) {
  auto impl = std::make_unique<Impl>();
  try {
    if (metric == Metric::kL2) {
      impl->space = std::make_unique<hnswlib::L2Space>(dimension);
    } else {
      impl->space = std::make_unique<hnswlib::InnerProductSpace>(dimension);
    }
    impl->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        impl->space.get(), std::max<std::size_t>(capacity, 1), m, ef_construction);
  } catch (const std::exception& e) {  // hnswlib reports failures by throwing
    return make_error(ErrorCode::kInternal, std::string("creating an hnswlib index: ") + e.what());
  }
  return std::unique_ptr<HnswIndex>(new HnswIndex(std::move(impl)));
}

Status HnswIndex::add(const float* vector, std::size_t label) {
  try {
    impl_->index->addPoint(vector, label);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("hnswlib insert: ") + e.what());
  }
  return ok_status();
}

void HnswIndex::set_ef(std::size_t ef) {
  impl_->index->setEf(ef);
}

Result<std::vector<HnswIndex::Neighbour>> HnswIndex::search(const float* query,
                                                            std::size_t k) const {
  std::vector<Neighbour> out;
  const std::size_t n = impl_->index->cur_element_count;
  if (k == 0 || n == 0) return out;
  k = std::min(k, n);
  try {
    auto found = impl_->index->searchKnn(query, k);
    for (; !found.empty(); found.pop()) out.push_back({found.top().second, found.top().first});
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("hnswlib search: ") + e.what());
  }
  std::reverse(out.begin(), out.end());  // a max-heap pops the farthest first
  return out;
}

}  // namespace cm::validate
