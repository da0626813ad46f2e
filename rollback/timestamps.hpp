// Reading the ISO-8601 stamps run.json and rollback.json carry (common/base/clock.hpp's
// now_iso8601(): "2026-11-22T04:37:00.123Z"): downtime and live_restored_seconds are computed from
// stored stamps, not in-process clocks, so they survive a crash and a re-run.
#pragma once

#include <optional>
#include <string>

namespace cm::rollback {

// Seconds since the epoch; milliseconds optional ("2026-11-22T04:37:00Z" too, as older run.json
// files have); nullopt when the text is not such a stamp.
std::optional<double> parse_iso8601(const std::string& text);

}  // namespace cm::rollback
