// Wall-clock helpers for logs, manifests and reports (UTC, ISO-8601 with milliseconds).
#pragma once

#include <chrono>
#include <string>

namespace cm {

std::string now_iso8601();
// A compact UTC stamp usable in names: 20261122T043700Z.
std::string now_compact_stamp();
// Seconds (fractional) from `start` to now on the steady clock: durations in reports and logs.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace cm
