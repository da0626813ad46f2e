#include "common/base/clock.hpp"

#include <chrono>

#include <fmt/chrono.h>

namespace cm {

std::string now_iso8601() {
  // fmt 9 (Debian 12) prints no sub-second digits for a time_point: add the milliseconds by hand.
  // Downtime figures are computed from these stamps, so seconds alone are far too coarse.
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  return fmt::format("{:%FT%T}.{:03d}Z", seconds, (now - seconds).count());
}

std::string now_compact_stamp() {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y%m%dT%H%M%S}Z", now);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace cm
