// The import's progress over time, for migration_summary.json ("import_rate") and the HTML page's
// import rate plot: (seconds since the import phase started, records imported so far) samples,
// taken as batches complete. Bounded: at most kMaxSamples are kept; when full, every other sample
// is dropped and the spacing between samples doubles, so a run of any length keeps an even
// picture of its whole import in O(1) memory. Thread-safe (batches complete on worker threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cm::migrate {

class ImportRate {
 public:
  static constexpr std::size_t kMaxSamples = 128;

  // `spacing`: the first spacing between kept samples, in seconds (tests pass 0: every batch).
  explicit ImportRate(double spacing = 0.05) : spacing_(spacing) {}

  // The import starts now, with `already` records imported by an earlier invocation. A second
  // call (the import phase after the pipelined import, migrate/import_stream.hpp) changes nothing.
  void start(std::uint64_t already);
  // `records` more records were imported. Keeps a sample when the spacing allows.
  void add(std::uint64_t records);
  // Keeps the last figure whatever the spacing (call once the phase is done).
  void finish();
  // {"samples": [[seconds, records], ...], "max_samples": N}; empty samples when never started.
  nlohmann::json to_json() const;

 private:
  void sample_locked(bool force);

  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point started_{};
  bool started_set_ = false;
  std::uint64_t records_ = 0;
  double spacing_;  // seconds between kept samples; doubles whenever the buffer fills
  std::vector<std::pair<double, std::uint64_t>> samples_;
};

}  // namespace cm::migrate
