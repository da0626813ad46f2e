// Runs numbered batches on a fixed number of worker threads, skipping those already done, and
// reports each completion to the caller (which checkpoints it) only after the work succeeded.
// At the first error, or when a stop is requested, no new batch starts; batches in flight finish
// and are reported, so at most `workers` batches are ever repeated by a resume.
#pragma once

#include <cstddef>
#include <functional>

#include "checkpoints/batch_set.hpp"
#include "common/error.hpp"

namespace cm::migrate {

struct BatchWork {
  // Does batch i; returns the number of records it moved.
  std::function<Result<std::size_t>(std::size_t index)> run;
  // Called once per successful batch, serialised; an error here stops the run too.
  std::function<Status(std::size_t index, std::size_t records)> completed;
};

Status run_batches(std::size_t total, const ckpt::BatchSet& done, std::size_t workers,
                   const BatchWork& work);

}  // namespace cm::migrate
