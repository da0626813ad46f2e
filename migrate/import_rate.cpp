#include "migrate/import_rate.hpp"

namespace cm::migrate {

void ImportRate::start(std::uint64_t already) {
  std::lock_guard lock(mu_);
  if (started_set_) return;  // the pipelined import started it: the import phase goes on from there
  started_ = std::chrono::steady_clock::now();
  started_set_ = true;
  records_ = already;
  samples_.clear();
  samples_.emplace_back(0.0, already);
}

void ImportRate::add(std::uint64_t records) {
  std::lock_guard lock(mu_);
  records_ += records;
  sample_locked(false);
}

void ImportRate::finish() {
  std::lock_guard lock(mu_);
  sample_locked(true);
}

void ImportRate::sample_locked(bool force) {
  if (!started_set_) return;
  const double t =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (!force && !samples_.empty() && t - samples_.back().first < spacing_) return;
  samples_.emplace_back(t, records_);
  if (samples_.size() < kMaxSamples) return;
  // Full: keep the even-indexed samples (the first among them) and the newest, space wider.
  std::vector<std::pair<double, std::uint64_t>> kept;
  kept.reserve(kMaxSamples / 2 + 1);
  for (std::size_t i = 0; i < samples_.size(); i += 2) kept.push_back(samples_[i]);
  if (kept.back() != samples_.back()) kept.push_back(samples_.back());
  samples_ = std::move(kept);
  spacing_ *= 2;
}

nlohmann::json ImportRate::to_json() const {
  std::lock_guard lock(mu_);
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& [t, n] : samples_) samples.push_back({t, n});
  return {{"samples", samples},
          {"max_samples", kMaxSamples},
          {"note", "[seconds since the import phase started, records imported so far]"}};
}

}  // namespace cm::migrate
