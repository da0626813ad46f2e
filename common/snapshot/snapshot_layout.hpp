// Where things live inside a snapshot directory, and the file-level helpers SnapshotStore and its
// seal/verify code share. Internal to the snapshot implementation.
//
//   <dir>/manifest.json                         written last; present = sealed
//   <dir>/collections/<name>/collection.json    written at create
//   <dir>/collections/<name>/part-<16 hex>.rec  one per upsert batch
//   (common/snapshot/snapshot_format.hpp)
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"
#include "common/snapshot/snapshot_format.hpp"
#include "common/store/record.hpp"

namespace cm::snapshot {

std::filesystem::path manifest_path(const std::filesystem::path& dir);
std::filesystem::path collections_dir(const std::filesystem::path& dir);
std::filesystem::path collection_dir(const std::filesystem::path& dir, const std::string& name);
std::filesystem::path collection_json_path(const std::filesystem::path& dir,
                                           const std::string& name);

// Why `name` cannot be used as a folder name (empty, '/', NUL, leading '.', too long); nullopt if
// it can. Deliberately looser than Chroma's own name rule so that exporting a legacy collection
// never fails here.
std::optional<std::string> unsafe_collection_name_reason(const std::string& name);

// "part-" + 16 hex of XXH3-64 over the batch's ids (each u64-length-prefixed): re-sending the same
// batch after a crash targets the same file, which makes upsert idempotent.
std::string part_file_name(std::span<const Record> records);
bool is_part_file_name(std::string_view name);

// Part file names in a collection folder, sorted. Other files (collection.json, temp files) are
// not listed.
Result<std::vector<std::string>> list_part_files(const std::filesystem::path& collection_dir);
// Collection folder names under <dir>/collections, sorted.
Result<std::vector<std::string>> list_collection_dirs(const std::filesystem::path& dir);

// Reads only the header of a part file.
Result<PartHeader> read_part_header_file(const std::filesystem::path& path);
// Reads and fully decodes a part file; errors name the file.
// Refuses (kInvalidArgument) a part holding tombstones or unrecoverable records: readers that
// serve records use it; verification and sealing accept such parts.
Result<DecodedPart> read_part_file(const std::filesystem::path& path);
Status refuse_marked_records(const DecodedPart& part, const std::filesystem::path& path);

// Removes a file and fsyncs its directory so the removal survives a crash. A missing file is fine.
Status remove_file_durably(const std::filesystem::path& path);
// Leftover "*.tmp.*" files of writes interrupted by a crash.
void remove_stale_temp_files(const std::filesystem::path& folder);

}  // namespace cm::snapshot
