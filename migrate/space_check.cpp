#include "migrate/space_check.hpp"

#include <cmath>
#include <system_error>

#include <fmt/format.h>

namespace cm::migrate {

std::uint64_t estimated_record_bytes(const Record& record) {
  constexpr std::uint64_t kFraming = 48;  // lengths, flags, record digest
  std::uint64_t bytes = kFraming + record.id.size() + 4 + record.embedding.size() * sizeof(float);
  if (record.document) bytes += 4 + record.document->size();
  if (record.uri) bytes += 4 + record.uri->size();
  for (const auto& [key, value] : record.metadata) {
    bytes += 4 + key.size() + 1;
    if (const auto* s = std::get_if<std::string>(&value)) {
      bytes += 4 + s->size();
    } else {
      bytes += 8;
    }
  }
  return bytes;
}

namespace {

// Records and estimated bytes (before the safety factor) of `samples`.
std::pair<std::uint64_t, double> raw_size(const std::vector<CollectionSample>& samples) {
  std::uint64_t sampled = 0, sampled_bytes = 0, records = 0;
  for (const auto& s : samples) {
    sampled += s.sampled;
    sampled_bytes += s.sampled_bytes;
  }
  const double side_average =
      sampled ? static_cast<double>(sampled_bytes) / static_cast<double>(sampled) : 4096.0;
  double raw = 0;
  for (const auto& s : samples) {
    records += s.count;
    const double average =
        s.sampled ? static_cast<double>(s.sampled_bytes) / static_cast<double>(s.sampled)
                  : side_average;
    raw += average * static_cast<double>(s.count);
  }
  return {records, raw};
}

}  // namespace

SpaceEstimate estimate_work_space(std::vector<CollectionSample> samples, bool transformed_copy,
                                  std::vector<CollectionSample> backups, double safety_factor) {
  SpaceEstimate out;
  out.transformed_copy = transformed_copy;
  const auto [records, raw] = raw_size(samples);
  const auto [backup_records, backup_raw] = raw_size(backups);
  out.records = records;
  out.backup_records = backup_records;
  out.collections = std::move(samples);
  out.backups = std::move(backups);
  out.snapshot_bytes = static_cast<std::uint64_t>(std::ceil(raw * safety_factor));
  out.backup_bytes = static_cast<std::uint64_t>(std::ceil(backup_raw * safety_factor));
  out.needed_bytes = out.snapshot_bytes * (transformed_copy ? 2 : 1) + out.backup_bytes;
  return out;
}

Result<std::vector<CollectionSample>> sample_collections(VectorStore& store,
                                                         const std::vector<std::string>& names) {
  std::vector<CollectionSample> samples;
  for (const auto& name : names) {
    CM_ASSIGN_OR_RETURN(auto info, store.find_collection(name));
    if (!info) continue;  // the caller already named what is missing
    CollectionSample s{.name = name, .count = 0, .sampled = 0, .sampled_bytes = 0};
    CM_ASSIGN_OR_RETURN(s.count, store.count(*info));
    if (s.count > 0) {
      CM_ASSIGN_OR_RETURN(auto ids, store.list_ids(*info, 0, kSpaceSamplePage));
      CM_ASSIGN_OR_RETURN(auto records, store.get_records(*info, ids));
      for (const auto& r : records) s.sampled_bytes += estimated_record_bytes(r);
      s.sampled = records.size();
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

Result<std::uint64_t> available_bytes(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path probe = std::filesystem::absolute(dir, ec);
  if (ec) probe = dir;
  while (!probe.empty() && !std::filesystem::exists(probe, ec) && probe != probe.parent_path())
    probe = probe.parent_path();
  const auto info = std::filesystem::space(probe.empty() ? "." : probe, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot tell the free space of " + probe.string() + " (for " +
                                          dir.string() + "): " + ec.message());
  }
  return static_cast<std::uint64_t>(info.available);
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{:.1f} {} ({} bytes)", value, units[unit], bytes);
}

Status check_work_space(const SpaceEstimate& estimate, std::uint64_t available,
                        const std::filesystem::path& dir) {
  if (estimate.needed_bytes <= available) return ok_status();
  std::string per_collection;
  auto describe = [&](const CollectionSample& c, const char* side) {
    per_collection +=
        fmt::format("{}{}{}: {} records, {} sampled", per_collection.empty() ? "" : "; ", side,
                    c.name, c.count, c.sampled);
    if (c.sampled)
      per_collection += fmt::format(" averaging {} bytes", c.sampled_bytes / c.sampled);
  };
  for (const auto& c : estimate.collections) describe(c, "");
  for (const auto& c : estimate.backups) describe(c, "backup of target ");
  return make_error(
      ErrorCode::kIo,
      fmt::format("the work dir {} has {} available but the run needs about {}: {} records{}{}, "
                  "estimated x{} ({}); nothing was written to the work dir or the target. Free "
                  "space, or choose a --work-dir on a larger file system",
                  dir.string(), human_bytes(available), human_bytes(estimate.needed_bytes),
                  estimate.records,
                  estimate.transformed_copy ? " (source snapshot plus the transformed copy)" : "",
                  estimate.backup_records
                      ? fmt::format(" plus a backup of {} target records", estimate.backup_records)
                      : "",
                  kSpaceSafetyFactor, per_collection));
}

}  // namespace cm::migrate
