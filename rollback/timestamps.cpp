#include "rollback/timestamps.hpp"

#include <cstdio>
#include <ctime>

namespace cm::rollback {

std::optional<double> parse_iso8601(const std::string& text) {
  std::tm tm{};
  int millis = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with(".")) {
    int more = 0;
    if (std::sscanf(rest.c_str(), ".%3d%n", &millis, &more) != 1 || more != 4) return std::nullopt;
    rest = rest.substr(static_cast<std::size_t>(more));
  }
  if (rest != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + millis / 1000.0;
}

}  // namespace cm::rollback
