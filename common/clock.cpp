#include "common/clock.hpp"

#include <chrono>

#include <fmt/chrono.h>

namespace cm {

std::string now_iso8601() {
  auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return fmt::format("{:%FT%T}Z", now);
}

std::string now_compact_stamp() {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y%m%dT%H%M%S}Z", now);
}

}  // namespace cm
