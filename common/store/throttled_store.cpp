#include "common/store/throttled_store.hpp"

#include <thread>

namespace cm {

PaceClock PaceClock::real() {
  return {[] { return std::chrono::steady_clock::now(); },
          [](std::chrono::steady_clock::time_point t) { std::this_thread::sleep_until(t); }};
}

RecordPacer::RecordPacer(double records_per_second, PaceClock clock)
    : rate_(records_per_second), clock_(std::move(clock)) {}

void RecordPacer::acquire(std::size_t records) {
  if (rate_ <= 0 || records == 0) return;
  std::chrono::steady_clock::time_point slot;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    slot = !started_ || next_ < now ? now : next_;
    started_ = true;
    next_ = slot + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(records) / rate_));
  }
  if (slot > clock_.now()) clock_.sleep_until(slot);
}

ThrottledStore::ThrottledStore(std::unique_ptr<VectorStore> inner, double records_per_second,
                               PaceClock clock)
    : ForwardingStore(std::move(inner)), pacer_(records_per_second, std::move(clock)) {}

Result<std::vector<Record>> ThrottledStore::get_records(const CollectionInfo& c,
                                                        std::span<const std::string> ids) {
  pacer_.acquire(ids.size());
  return inner().get_records(c, ids);
}

Result<std::vector<std::vector<QueryHit>>> ThrottledStore::query(
    const CollectionInfo& c, std::span<const std::vector<float>> embeddings, std::size_t k) {
  pacer_.acquire(embeddings.size());
  return inner().query(c, embeddings, k);
}

}  // namespace cm
