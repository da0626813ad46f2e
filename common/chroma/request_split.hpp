// Requests a server refuses as too large are split and sent again, never failed: a batch that
// hits a limit still lands, without a new configuration.
//
// "Too large" is: HTTP 413 (the Rust server's request-body limit, 40 MiB by default; also what
// ChromaHttpStore answers itself, without sending, for a body over its configured limit), or a
// quota error naming a limit ("current usage of 1056 exceeds limit of 300", Chroma Cloud's 300
// records per read and write). A quota names the size to use; a 413 halves the part. The smaller
// size is remembered for the store's later requests of the same kind, so a run pays the refusal
// once, and the first lowering is logged once at warning level (later ones at debug).
//
// Callers keep their own unit of work: the checkpoint still records whole batches, which are
// done when every part is; a part that fails otherwise fails the batch, and since the parts are
// idempotent writes (upsert, delete by id) or reads, redoing the whole batch is safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>

#include "common/base/error.hpp"

namespace cm {

// True when `error` means "the request was too large"; `*limit` is set to the quota's number
// when it names one (0 otherwise).
bool is_too_large(const Error& error, std::size_t* limit);

class RequestSplitter {
 public:
  // `what` names the kind of request in the log ("upsert", "get", "delete").
  explicit RequestSplitter(std::string what) : what_(std::move(what)) {}

  // Calls send(begin, end) over [0, n) in parts of at most cap() items, lowering the cap and
  // sending the same items again when a part is refused as too large. A single item refused as
  // too large, or any other error, is returned as is.
  Status run(std::size_t n, const std::function<Status(std::size_t, std::size_t)>& send);

  // The most items one request carries now (SIZE_MAX until a refusal).
  std::size_t cap() const { return cap_.load(); }

 private:
  void lower(std::size_t items, std::size_t refused, const Error& why);

  std::string what_;
  std::atomic<std::size_t> cap_{std::numeric_limits<std::size_t>::max()};
  std::atomic<bool> logged_{false};
};

}  // namespace cm
