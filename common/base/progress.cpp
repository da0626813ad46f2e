#include "common/base/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

namespace cm {

bool Progress::stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

Progress::Progress(std::string label, std::uint64_t total, std::uint64_t already_done,
                   std::chrono::seconds log_interval)
    : label_(std::move(label)),
      total_(total),
      start_done_(already_done),
      done_(already_done),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_),
      log_interval_(log_interval),
      tty_(stderr_is_tty()) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  // TTY: redraw at most 5 times a second; log: one line per interval.
  auto every = tty_ ? std::chrono::milliseconds(200)
                    : std::chrono::duration_cast<std::chrono::milliseconds>(log_interval_);
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_report_ < every) return;
  last_report_ = now;
  report(false);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  report(true);
}

void Progress::report(bool final_report) {
  const std::uint64_t done = done_.load();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done - start_done_) / secs : 0.0;
  const double fraction = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0.0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%-24s [%s] %5.1f%% %llu/%llu %.0f rec/s ETA %.0fs ", label_.c_str(),
                 bar.c_str(), fraction * 100.0, static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_), rate, eta);
    if (final_report) std::fputc('\n', stderr);
    std::fflush(stderr);
  } else if (!final_report || done != start_done_) {
    spdlog::info(
        "{}: {}/{} records ({:.1f}%), {:.0f} records/s{}", label_, done, total_, fraction * 100.0,
        rate,
        final_report ? fmt::format(", done in {:.1f}s", secs) : fmt::format(", ETA {:.0f}s", eta));
  }
}

}  // namespace cm
