#include "common/snapshot/snapshot_seal.hpp"

#include <unordered_map>
#include <unordered_set>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_format.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/store/canonical.hpp"
#include "common/store/id_hash_set.hpp"

namespace cm::snapshot {
namespace fs = std::filesystem;

namespace {

// What sealing keeps of a part after reading it once: enough to describe it in the manifest and
// to resolve duplicates, but not the records themselves.
struct ScannedPart {
  std::string file;
  std::uint64_t write_seq = 0;
  std::uint64_t bytes = 0;
  std::string xxh3_64;
  std::vector<IdHash> ids;
  std::vector<std::uint64_t> digests;
  std::uint64_t tombstones = 0, unrecoverable = 0;
  IdHashSet losers;  // ids whose current copy is in another part
  bool removed = false;
};

// A framing walk, not a full decode: sealing needs ids and the stored digests only. Content is
// checked against those digests by every later read (read_part, verify_snapshot).
Status scan(const fs::path& path, std::string_view bytes, ScannedPart* out) {
  auto part = decode_part_index(bytes);
  if (!part) return std::unexpected(std::move(part).error().with_context(path.string()));
  out->write_seq = part->header.write_seq;
  out->bytes = bytes.size();
  out->xxh3_64 = xxh3_64_hex(bytes);
  out->ids.clear();
  out->ids.reserve(part->ids.size());
  for (const auto& id : part->ids) out->ids.push_back(id_hash(id));
  out->digests = std::move(part->digests);
  out->tombstones = part->tombstones;
  out->unrecoverable = part->unrecoverable;
  return ok_status();
}

// True when part `a` holds a newer copy than part `b`: higher write_seq, then later file name, the
// same order SnapshotStore's read index uses before sealing.
bool newer(const ScannedPart& a, const ScannedPart& b) {
  if (a.write_seq != b.write_seq) return a.write_seq > b.write_seq;
  return a.file > b.file;
}

// Rewrites a part without its losing records (same write_seq), or removes it when none remain.
Status drop_losers(const fs::path& folder, ScannedPart* part) {
  const fs::path path = folder / part->file;
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  auto decoded = decode_part(bytes);
  if (!decoded) return std::unexpected(std::move(decoded).error().with_context(path.string()));
  const std::string rewritten = reencode_part_without(
      *decoded, [&](const Record& r) { return part->losers.contains(id_hash(r.id)); });
  if (decoded->records.empty()) {
    part->removed = true;
    return remove_file_durably(path);
  }
  CM_RETURN_IF_ERROR(write_file_atomic(path, rewritten));
  return scan(path, rewritten, part);
}

}  // namespace

Result<ManifestCollection> seal_collection(const fs::path& dir, const CollectionInfo& info) {
  const fs::path folder = collection_dir(dir, info.name);
  CM_ASSIGN_OR_RETURN(auto files, list_part_files(folder));
  std::vector<ScannedPart> parts(files.size());
  std::unordered_map<IdHash, std::uint32_t, IdHashHasher> owner;  // id -> part holding it
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    ScannedPart& part = parts[i];
    part.file = files[i];
    CM_ASSIGN_OR_RETURN(auto bytes, read_file(folder / part.file));
    CM_RETURN_IF_ERROR(scan(folder / part.file, bytes, &part));
    for (const IdHash& h : part.ids) {
      auto [it, inserted] = owner.emplace(h, i);
      if (inserted) continue;
      if (it->second == i) {
        return make_error(ErrorCode::kCorruption,
                          (folder / part.file).string() + " holds the same id twice");
      }
      ScannedPart& other = parts[it->second];
      if (newer(part, other)) {
        other.losers.insert(h);
        it->second = i;
      } else {
        part.losers.insert(h);
      }
    }
    part.ids = {};  // only needed while building `owner`
  }
  owner = {};  // release before the rewrites allocate
  ManifestCollection out;
  out.info = info;
  std::vector<std::uint64_t> digests;
  for (auto& part : parts) {
    if (!part.losers.empty()) CM_RETURN_IF_ERROR(drop_losers(folder, &part));
    if (part.removed) continue;
    out.parts.push_back(ManifestPart{part.file, part.digests.size(), part.bytes, part.xxh3_64});
    out.record_count += part.digests.size();
    out.tombstones += part.tombstones;
    out.unrecoverable += part.unrecoverable;
    digests.insert(digests.end(), part.digests.begin(), part.digests.end());
    part.digests = {};
  }
  out.content_digest = content_digest(std::move(digests));
  return out;
}

}  // namespace cm::snapshot
