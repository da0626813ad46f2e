// Small helpers the checks share for counting findings and phrasing them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "validate/check.hpp"

namespace cm::validate {

// How many records something happened to, and the first kMaxSamples of their ids.
struct Tally {
  std::uint64_t count = 0;
  std::vector<std::string> samples;

  void add(const std::string& id) {
    ++count;
    if (samples.size() < kMaxSamples) samples.push_back(id);
  }
};

// "1 record", "3 records".
inline std::string records_text(std::uint64_t n, const char* noun = "record") {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// " (e.g. a, b, c)" with at most `max` ids; "" when there are none.
inline std::string examples(const std::vector<std::string>& ids, std::size_t max = 3) {
  if (ids.empty()) return "";
  std::string out = " (e.g. ";
  for (std::size_t i = 0; i < ids.size() && i < max; ++i) out += (i ? ", " : "") + ids[i];
  return out + ")";
}

// Adds ids to the result's samples, up to kMaxSamples in all.
inline void add_samples(CheckResult& result, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (result.samples.size() >= kMaxSamples) return;
    result.samples.push_back(id);
  }
}

// A finding line per tally: "<prefix> <what> in N records (e.g. ...)", samples collected.
inline void report_tallies(CheckResult& result, const std::string& collection,
                           const std::map<std::string, Tally>& tallies, const std::string& what) {
  for (const auto& [key, tally] : tallies) {
    result.findings.push_back(collection + ": key \"" + key + "\" " + what + " in " +
                              records_text(tally.count) + examples(tally.samples));
    add_samples(result, tally.samples);
  }
}

inline nlohmann::json tally_counts(const std::map<std::string, Tally>& tallies) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, tally] : tallies) out[key] = tally.count;
  return out;
}

}  // namespace cm::validate
