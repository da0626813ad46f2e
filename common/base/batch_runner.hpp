// Runs numbered batches on a fixed number of worker threads, skipping those already done, and
// reports each completion to the caller (which checkpoints it) only after the work succeeded.
// At the first error, or when a stop is requested, no new batch starts; batches in flight finish
// and are reported, so at most `workers` batches are ever repeated by a resume.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "common/base/error.hpp"

namespace cm {

struct BatchWork {
  // Does batch i; returns the number of records it moved.
  std::function<Result<std::size_t>(std::size_t index)> run;
  // Called once per successful batch, serialised; an error here stops the run too.
  std::function<Status(std::size_t index, std::size_t records)> completed;
};

Status run_batches(std::size_t total, const std::function<bool(std::size_t)>& already_done,
                   std::size_t workers, const BatchWork& work);

// Batches of several collections behind one queue, so workers never idle at a collection's end:
// global index g maps to (collection, batch) through prefix sums of the per-collection counts.
class BatchPlan {
 public:
  void add(std::size_t batches) { starts_.push_back(total_), total_ += batches; }
  std::size_t total() const { return total_; }
  std::pair<std::size_t, std::size_t> locate(std::size_t global) const;  // (collection, batch)

 private:
  std::vector<std::size_t> starts_;
  std::size_t total_ = 0;
};

}  // namespace cm
