// Sealing one collection folder of a snapshot (used by SnapshotStore::flush). Internal.
#pragma once

#include <filesystem>

#include "common/base/error.hpp"
#include "common/snapshot/snapshot_manifest.hpp"

namespace cm::snapshot {

// Decodes every part (verifying record digests), resolves ids that occur in several parts (the
// part with the highest header write_seq keeps its copy; the others are rewritten atomically
// without it, or removed when that empties them), and returns the collection's manifest entry:
// parts sorted by file name with size and XXH3-64, record_count and content_digest.
// Memory: O(records) for 128-bit id hashes and record digests.
Result<ManifestCollection> seal_collection(const std::filesystem::path& dir,
                                           const CollectionInfo& info);

}  // namespace cm::snapshot
