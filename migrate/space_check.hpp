// Disk-space preflight: before the export writes anything, the run checks that the work
// directory's file system can hold the source snapshot (and the transformed copy when a mapping is
// used) and the backup of every target collection the run replaces or merges into. The size is
// estimated from the source's counts and the average encoded size of a sample
// of each collection (its first page of ids), times a safety factor; a shortfall is refused with
// both figures (ErrorCode::kIo, exit 8) before anything is written to the work dir or the target.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/record.hpp"
#include "common/store/vector_store.hpp"

namespace cm::migrate {

// One collection's share of the estimate.
struct CollectionSample {
  std::string name;
  std::uint64_t count = 0;          // records in the source
  std::uint64_t sampled = 0;        // records measured
  std::uint64_t sampled_bytes = 0;  // their estimated encoded size
};

struct SpaceEstimate {
  std::vector<CollectionSample> collections;
  std::uint64_t records = 0;
  std::uint64_t snapshot_bytes = 0;       // the source snapshot, with the safety factor
  bool transformed_copy = false;          // a mapping: the transformed snapshot is as large again
  std::vector<CollectionSample> backups;  // target collections the run backs up
  std::uint64_t backup_records = 0;
  std::uint64_t backup_bytes = 0;  // their backup, with the safety factor
  std::uint64_t needed_bytes = 0;  // everything the run will write to the work dir
};

inline constexpr double kSpaceSafetyFactor = 1.5;  // format overhead, sealing rewrites, logs
inline constexpr std::uint32_t kSpaceSamplePage = 100;

// The size a record takes in a snapshot part, approximately (id, embedding as float32, document,
// metadata keys and values, per-record framing and digest).
std::uint64_t estimated_record_bytes(const Record& record);

// Pure: the estimate from per-collection samples of the source and of the target collections to
// back up. A collection with records but no sample (it emptied meanwhile) counts at the average
// of its side, or 4 KiB per record when nothing was sampled.
SpaceEstimate estimate_work_space(std::vector<CollectionSample> samples, bool transformed_copy,
                                  std::vector<CollectionSample> backups = {},
                                  double safety_factor = kSpaceSafetyFactor);

// Measures each named collection of `store` that exists: its count and the first page of its
// records (read-only: count, list_ids, get_records).
Result<std::vector<CollectionSample>> sample_collections(VectorStore& store,
                                                         const std::vector<std::string>& names);

// Free space for an unprivileged writer on the file system that holds `dir` (or its nearest
// existing ancestor, when the run has not created it yet).
Result<std::uint64_t> available_bytes(const std::filesystem::path& dir);

// kIo with the figures (needed vs available, per collection) when the estimate does not fit.
Status check_work_space(const SpaceEstimate& estimate, std::uint64_t available,
                        const std::filesystem::path& dir);

// "1.5 GiB"-style figure for messages.
std::string human_bytes(std::uint64_t bytes);

}  // namespace cm::migrate
