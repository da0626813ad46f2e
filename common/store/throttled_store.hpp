// Paces the records read from a store: a production source keeps serving while it is migrated,
// so `--source-rate N` keeps the run's reads at most N records per second on average.
//
// Each read of n records (get_records: the ids asked for; query: the embeddings) takes the next
// free slot of a schedule in which n records occupy n / N seconds, and waits for it: the first read
// goes at once, later ones as their slot comes, so over any run the rate stays at or under N
// without a burst larger than one batch. Concurrent workers share the one schedule. Id scans
// (list_ids) and counts are not paced: they carry no records' data and are a small share of the
// load. Composed in common/run/store_factory.cpp, inside the retries, so a retried read is paced
// again like any other request to the server.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "common/store/vector_store.hpp"

namespace cm {

// The clock a pacer reads and waits on; tests give a fake one that records the waits.
struct PaceClock {
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::steady_clock::time_point)> sleep_until;
  static PaceClock real();
};

class RecordPacer {
 public:
  RecordPacer(double records_per_second, PaceClock clock);
  // Waits until `records` more may be read.
  void acquire(std::size_t records);

 private:
  double rate_;
  PaceClock clock_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point next_{};  // the schedule's next free slot
  bool started_ = false;
};

class ThrottledStore final : public ForwardingStore {
 public:
  ThrottledStore(std::unique_ptr<VectorStore> inner, double records_per_second,
                 PaceClock clock = PaceClock::real());

  Result<std::vector<Record>> get_records(const CollectionInfo& c,
                                          std::span<const std::string> ids) override;
  Result<std::vector<std::vector<QueryHit>>> query(const CollectionInfo& c,
                                                   std::span<const std::vector<float>> embeddings,
                                                   std::size_t k) override;

 private:
  RecordPacer pacer_;
};

}  // namespace cm
