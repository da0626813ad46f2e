// Delta generations of a snapshot (docs/snapshot-format.md, "Delta generations"). A catch-up sync
// records what the source took since a snapshot as a small delta on top of it, never as a new
// full copy, so the snapshot the run started from stays as it was and each sync costs what it
// changed. Layout, next to the base snapshot DIR (generation 0):
//
//   DIR.deltas/000001/    a sealed snapshot of its own: manifest generation N and base {the
//   DIR.deltas/000002/    previous generation present, XXH3-64 of its manifest.json}; its parts
//   ...                   hold the records upserted since and tombstones for the ids deleted since
//   DIR.deltas/committed  the newest generation readers use (decimal, written atomically)
//
// A sync that found nothing writes no delta, so generation numbers can skip. A delta above the
// committed generation belongs to an interrupted sync: readers ignore it, the next sync replaces
// it. SnapshotStore::open(DIR, kRead) reads the base with every committed delta as one snapshot
// (the newest generation holding an id wins; a tombstone hides it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/base/error.hpp"

namespace cm::snapshot {

std::filesystem::path deltas_dir(const std::filesystem::path& base);
std::filesystem::path delta_dir(const std::filesystem::path& base, std::uint64_t generation);

// The committed generation; 0 when no delta was ever committed.
Result<std::uint64_t> committed_generation(const std::filesystem::path& base);
// Makes `generation` (already sealed in its folder, or absent when the sync found nothing) and
// everything below it visible to readers.
Status commit_generation(const std::filesystem::path& base, std::uint64_t generation);
// The committed generations that have a folder, ascending.
Result<std::vector<std::uint64_t>> committed_deltas(const std::filesystem::path& base);
// Removes the folders of generations above the committed one (an interrupted sync's work).
Status remove_uncommitted_deltas(const std::filesystem::path& base);

}  // namespace cm::snapshot
