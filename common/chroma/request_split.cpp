#include "common/chroma/request_split.hpp"

#include <algorithm>
#include <regex>

#include <spdlog/spdlog.h>

namespace cm {

bool is_too_large(const Error& error, std::size_t* limit) {
  *limit = 0;
  // Chroma Cloud: "Quota exceeded: ... current usage of 1056 exceeds limit of 300".
  static const std::regex quota(R"(exceeds limit of (\d+))");
  std::smatch m;
  if (error.http_status >= 400 && error.http_status < 500 && error.http_status != 429 &&
      std::regex_search(error.message, m, quota)) {
    *limit = static_cast<std::size_t>(std::stoull(m[1].str()));
    return true;
  }
  return error.http_status == 413;
}

Status RequestSplitter::run(std::size_t n,
                            const std::function<Status(std::size_t, std::size_t)>& send) {
  std::size_t begin = 0;
  while (begin < n) {
    const std::size_t end = begin + std::min(n - begin, cap_.load());
    Status sent = send(begin, end);
    if (sent) {
      begin = end;
      continue;
    }
    std::size_t limit = 0;
    const std::size_t items = end - begin;
    if (items <= 1 || !is_too_large(sent.error(), &limit)) return sent;
    // A quota names the size; a 413 does not: halve (a quota at or above this part's size, which
    // should not happen, halves too rather than loop).
    lower(limit > 0 && limit < items ? limit : items / 2, items, sent.error());
  }
  return ok_status();
}

void RequestSplitter::lower(std::size_t items, std::size_t refused, const Error& why) {
  std::size_t current = cap_.load();
  while (items < current && !cap_.compare_exchange_weak(current, items)) {
  }
  const bool first = !logged_.exchange(true);
  const auto level = first ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(level,
              "the server refused a {} of {} records as too large ({}); sending at most {} per "
              "request from now on",
              what_, refused, why.message, cap_.load());
}

}  // namespace cm
