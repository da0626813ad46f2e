#include "common/base/batch_runner.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/base/cancellation.hpp"

namespace cm {

std::pair<std::size_t, std::size_t> BatchPlan::locate(std::size_t global) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), global);
  const auto collection = static_cast<std::size_t>(it - starts_.begin()) - 1;
  return {collection, global - starts_[collection]};
}

Status run_batches(std::size_t total, const std::function<bool(std::size_t)>& already_done,
                   std::size_t workers, const BatchWork& work) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;  // guards first_error and serialises completed()
  std::optional<Error> first_error;

  auto record_error = [&](Error error) {
    std::lock_guard lock(mutex);
    if (!first_error) first_error = std::move(error);
    failed = true;
  };

  auto worker = [&] {
    while (!failed && !stop_requested()) {
      std::size_t index = next++;
      if (index >= total) return;
      if (already_done(index)) continue;
      auto moved = work.run(index);
      if (!moved) {
        record_error(std::move(moved).error().with_context("batch " + std::to_string(index)));
        return;
      }
      std::lock_guard lock(mutex);
      if (auto status = work.completed(index, *moved); !status) {
        if (!first_error) first_error = std::move(status).error();
        failed = true;
        return;
      }
    }
  };

  std::vector<std::jthread> threads;
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) threads.emplace_back(worker);
  threads.clear();  // joins

  if (first_error) return std::unexpected(std::move(*first_error));
  // Every index was claimed, and a claimed batch always runs to completion or error: all done.
  if (stop_requested() && next.load() < total) {
    return make_error(ErrorCode::kCancelled,
                      "stopped on request; the checkpoint is saved, --resume continues");
  }
  return ok_status();
}

}  // namespace cm
