// SnapshotStore: record writes (upsert, delete_records) and sealing (flush). Opening and
// collection management: snapshot_store.cpp; reads: snapshot_store_read.cpp.
#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_seal.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/snapshot/snapshot_store_internal.hpp"

namespace cm {
namespace fs = std::filesystem;

namespace {

Status validate_batch(std::span<const Record> records) {
  constexpr std::size_t kMaxField = std::numeric_limits<std::uint32_t>::max();
  if (records.size() > SnapshotStore::kMaxBatchSize) {
    return make_error(ErrorCode::kInvalidArgument,
                      "batch of " + std::to_string(records.size()) + " records exceeds " +
                          std::to_string(SnapshotStore::kMaxBatchSize));
  }
  const std::size_t dim = records.front().embedding.size();
  for (const auto& r : records) {
    auto bad = [&](const std::string& why) {
      return make_error(ErrorCode::kInvalidArgument, "record \"" + r.id + "\": " + why);
    };
    if (r.id.empty()) return make_error(ErrorCode::kInvalidArgument, "record with an empty id");
    if (r.embedding.empty()) return bad("has no embedding");
    if (r.embedding.size() != dim) {
      return bad("dimension " + std::to_string(r.embedding.size()) + " differs from " +
                 std::to_string(dim) + " in the same batch");
    }
    if (r.id.size() > kMaxField || (r.document && r.document->size() > kMaxField) ||
        (r.uri && r.uri->size() > kMaxField) || dim > kMaxField / sizeof(float)) {
      return bad("a field exceeds 4 GiB");
    }
    if (auto why = metadata_not_representable_reason(r.metadata)) return bad(*why);
  }
  return ok_status();
}

// Chroma keeps one record when a batch repeats an id; the last copy is the natural choice. Returns
// the records to write, copying only when there is a repeat.
std::vector<Record> without_repeats(std::span<const Record> records) {
  std::unordered_map<std::string_view, std::size_t> last;
  last.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) last[records[i].id] = i;
  if (last.size() == records.size()) return {};
  std::vector<Record> out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (last[records[i].id] == i) out.push_back(records[i]);
  }
  return out;
}

}  // namespace

Status SnapshotStore::upsert(const CollectionInfo& collection, std::span<const Record> records) {
  CM_RETURN_IF_ERROR(check_writable());
  if (records.empty()) return ok_status();
  CM_RETURN_IF_ERROR(validate_batch(records));
  const int dim = static_cast<int>(records.front().embedding.size());
  std::shared_lock ops(ops_mu_);
  std::uint64_t write_seq = 0;
  {
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(collection.name));
    if (state->info.dimension && *state->info.dimension != dim) {
      return make_error(ErrorCode::kInvalidArgument,
                        "dimension " + std::to_string(dim) + " differs from collection \"" +
                            collection.name + "\"'s " + std::to_string(*state->info.dimension));
    }
    CM_RETURN_IF_ERROR(unseal_locked());
    if (!state->info.dimension) {
      CollectionInfo updated = state->info;
      updated.dimension = dim;
      CM_RETURN_IF_ERROR(write_file_atomic(snapshot::collection_json_path(dir_, collection.name),
                                           json_text(collection_info_to_json(updated))));
      state->info = std::move(updated);
    }
    write_seq = ++state->max_write_seq;
    invalidate_locked(*state);
  }
  const std::vector<Record> deduped = without_repeats(records);
  const std::span<const Record> to_write = deduped.empty() ? records : std::span(deduped);
  const fs::path path =
      snapshot::collection_dir(dir_, collection.name) / snapshot::part_file_name(records);
  auto written = write_file_atomic(path, encode_part(to_write, write_seq));
  std::lock_guard lock(mu_);
  // Readers may have cached an index built while the part was being written.
  if (auto state = state_locked(collection.name)) invalidate_locked(**state);
  return written;
}

Status SnapshotStore::set_lineage(std::uint64_t generation, const ManifestBase& base) {
  CM_RETURN_IF_ERROR(check_writable());
  if (generation == 0 || base.generation >= generation) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a delta's generation must be above its base's (" +
                          std::to_string(base.generation) + " -> " + std::to_string(generation) +
                          ")");
  }
  std::lock_guard lock(mu_);
  if (!collections_.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      describe() + " already holds collections: a delta starts empty");
  }
  CM_RETURN_IF_ERROR(unseal_locked());
  generation_ = generation;
  base_ = base;
  return ok_status();
}

Status SnapshotStore::write_tombstones(const CollectionInfo& collection,
                                       std::span<const std::string> ids) {
  CM_RETURN_IF_ERROR(check_writable());
  if (ids.empty()) return ok_status();
  if (ids.size() > kMaxBatchSize) {
    return make_error(ErrorCode::kInvalidArgument, std::to_string(ids.size()) +
                                                       " tombstones exceed " +
                                                       std::to_string(kMaxBatchSize) + " per part");
  }
  std::vector<Record> records;
  std::vector<Record> named;  // the part's name hashes "tombstone:" ids: never an upsert's name
  for (const auto& id : ids) {
    records.push_back(Record{id, {}, std::nullopt, {}});
    named.push_back(Record{"tombstone:" + id, {}, std::nullopt, {}});
  }
  const std::vector<RecordMark> marks(records.size(), RecordMark{RecordMark::Kind::kTombstone, ""});
  std::shared_lock ops(ops_mu_);
  std::uint64_t write_seq = 0;
  {
    std::lock_guard lock(mu_);
    if (generation_ == 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        describe() + " is a full snapshot (generation 0): it holds no tombstones");
    }
    CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(collection.name));
    CM_RETURN_IF_ERROR(unseal_locked());
    write_seq = ++state->max_write_seq;
    invalidate_locked(*state);
  }
  const fs::path path =
      snapshot::collection_dir(dir_, collection.name) / snapshot::part_file_name(named);
  auto written = write_file_atomic(path, encode_part(records, marks, write_seq));
  std::lock_guard lock(mu_);
  if (auto state = state_locked(collection.name)) invalidate_locked(**state);
  return written;
}

Status SnapshotStore::remove_metadata_keys(const CollectionInfo& collection,
                                           std::span<const MetadataKeyRemoval> removals) {
  CM_RETURN_IF_ERROR(check_writable());
  std::unordered_map<std::string, const MetadataKeyRemoval*> by_id;
  std::vector<std::string> ids;
  for (const auto& r : removals) {
    if (r.keys.empty()) continue;
    if (by_id.emplace(r.id, &r).second) ids.push_back(r.id);
  }
  if (ids.empty()) return ok_status();
  CM_ASSIGN_OR_RETURN(auto records, get_records(collection, ids));
  std::vector<Record> changed;
  std::vector<std::string> changed_ids;
  for (auto& record : records) {
    bool any = false;
    for (const auto& key : by_id.at(record.id)->keys) any |= record.metadata.erase(key) > 0;
    if (!any) continue;
    changed_ids.push_back(record.id);
    changed.push_back(std::move(record));
  }
  if (changed.empty()) return ok_status();
  CM_RETURN_IF_ERROR(delete_records(collection, changed_ids));
  for (std::size_t at = 0; at < changed.size(); at += kMaxBatchSize) {
    std::span<const Record> all(changed);
    CM_RETURN_IF_ERROR(
        upsert(collection, all.subspan(at, std::min(kMaxBatchSize, all.size() - at))));
  }
  return ok_status();
}

Status SnapshotStore::delete_records(const CollectionInfo& collection,
                                     std::span<const std::string> ids) {
  CM_RETURN_IF_ERROR(check_writable());
  if (ids.empty()) return ok_status();
  std::unique_lock ops(ops_mu_);  // no upsert writes a part while we rewrite them
  {
    std::lock_guard lock(mu_);
    CM_RETURN_IF_ERROR(state_locked(collection.name));
  }
  const fs::path folder = snapshot::collection_dir(dir_, collection.name);
  const std::unordered_set<std::string_view> doomed(ids.begin(), ids.end());
  CM_ASSIGN_OR_RETURN(auto files, snapshot::list_part_files(folder));
  std::vector<std::pair<std::string, std::optional<std::string>>> rewrites;  // nullopt = remove
  for (const auto& file : files) {
    CM_ASSIGN_OR_RETURN(auto bytes, read_file(folder / file));
    CM_ASSIGN_OR_RETURN(auto part_ids, decode_part_ids(bytes));
    if (std::none_of(part_ids.begin(), part_ids.end(),
                     [&](const std::string& id) { return doomed.contains(id); })) {
      continue;
    }
    auto part = decode_part(bytes);
    if (!part)
      return std::unexpected(std::move(part).error().with_context((folder / file).string()));
    std::string rewritten =
        reencode_part_without(*part, [&](const Record& r) { return doomed.contains(r.id); });
    rewrites.emplace_back(
        file, part->records.empty() ? std::nullopt : std::optional(std::move(rewritten)));
  }
  if (rewrites.empty()) return ok_status();  // nothing to delete: stay sealed
  {
    std::lock_guard lock(mu_);
    CM_RETURN_IF_ERROR(unseal_locked());
  }
  Status status = ok_status();
  for (const auto& [file, bytes] : rewrites) {
    status = bytes ? write_file_atomic(folder / file, *bytes)
                   : snapshot::remove_file_durably(folder / file);
    if (!status) break;
  }
  std::lock_guard lock(mu_);
  if (auto state = state_locked(collection.name)) invalidate_locked(**state);
  return status;
}

Status SnapshotStore::flush() {
  if (mode_ == Mode::kRead) return ok_status();
  std::unique_lock ops(ops_mu_);
  SnapshotManifest manifest;
  {
    std::lock_guard lock(mu_);
    if (manifest_ && manifest_->description == description_) return ok_status();
    manifest.description = description_;
    manifest.generation = generation_;
    manifest.base = base_;
    manifest.shard = shard_;
    for (const auto& [name, state] : collections_) {
      ManifestCollection entry;
      entry.info = state->info;
      manifest.collections.push_back(std::move(entry));
    }
  }
  // Exclusive ops lock: no other call touches the files while they are rewritten and hashed.
  for (auto& entry : manifest.collections) {
    auto sealed = snapshot::seal_collection(dir_, entry.info);
    if (!sealed) {
      return std::unexpected(
          std::move(sealed).error().with_context("sealing collection " + entry.info.name));
    }
    entry = std::move(*sealed);
  }
  manifest.created_at = iso8601_utc_now();
  CM_RETURN_IF_ERROR(
      write_file_atomic(snapshot::manifest_path(dir_), json_text(manifest_to_json(manifest))));
  std::lock_guard lock(mu_);
  for (auto& [name, state] : collections_) invalidate_locked(*state);
  manifest_ = std::move(manifest);
  return ok_status();
}

}  // namespace cm
