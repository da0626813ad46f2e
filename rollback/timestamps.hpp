// Wall-clock stamps for rollback.json and the report, with milliseconds: downtime and
// live_restored_seconds are sub-second figures (a rename swap takes milliseconds), and they must
// survive a crash, so they are computed from stored stamps rather than in-process clocks.
// (common/clock.hpp's now_iso8601() prints whole seconds with the fmt this builds against.)
#pragma once

#include <optional>
#include <string>

namespace cm::rollback {

// "2026-11-22T04:37:00.123Z" (UTC).
std::string precise_now();
// Seconds since the epoch of such a stamp, milliseconds optional ("2026-11-22T04:37:00Z" too);
// nullopt when it is not one.
std::optional<double> parse_iso8601(const std::string& text);

}  // namespace cm::rollback
