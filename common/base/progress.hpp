// Progress for long work: a redrawn bar on a TTY (stderr), a log line every `interval` otherwise,
// so a night run's log shows it advancing. Thread-safe: workers call advance() concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace cm {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, std::uint64_t already_done = 0,
           std::chrono::seconds log_interval = std::chrono::seconds(10));
  ~Progress();
  void advance(std::uint64_t n);
  // Draws the final state and ends the bar's line.
  void finish();

  static bool stderr_is_tty();

 private:
  void report(bool final_report);

  std::string label_;
  std::uint64_t total_;
  std::uint64_t start_done_;
  std::atomic<std::uint64_t> done_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
  std::chrono::seconds log_interval_;
  bool tty_;
  bool finished_ = false;
  std::mutex mutex_;
};

}  // namespace cm
