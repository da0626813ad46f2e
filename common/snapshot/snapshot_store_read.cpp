// SnapshotStore: reads (count, list_ids, get_records, the importer's part reads).
#include <unordered_map>
#include <unordered_set>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_overlay.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "common/snapshot/snapshot_store_internal.hpp"

namespace cm {
namespace fs = std::filesystem;

namespace {

Result<std::vector<std::string>> read_ids(const fs::path& path) {
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  auto ids = decode_part_ids(bytes);
  if (!ids) return std::unexpected(std::move(ids).error().with_context(path.string()));
  return ids;
}

}  // namespace

Result<const ManifestCollection*> SnapshotStore::manifest_entry_locked(
    const std::string& name) const {
  const ManifestCollection* entry = manifest_ ? manifest_->find(name) : nullptr;
  if (!entry) {
    return make_error(ErrorCode::kInternal,
                      "collection \"" + name + "\" is missing from the manifest of " + describe());
  }
  return entry;
}

// Builds the id -> part index outside the lock; installs it only if no write happened meanwhile.
Result<std::shared_ptr<const SnapshotStore::IdIndex>> SnapshotStore::index_for(
    const std::string& name) {
  std::vector<std::string> files;
  std::uint64_t generation = 0;
  bool sealed = false;
  {
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(name));
    if (state->index) return state->index;
    generation = state->generation;
    if (manifest_) {
      sealed = true;
      CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(name));
      for (const auto& p : entry->parts) files.push_back(p.file);
    }
  }
  const fs::path folder = snapshot::collection_dir(dir_, name);
  if (!sealed) {
    CM_ASSIGN_OR_RETURN(files, snapshot::list_part_files(folder));
  }
  auto index = std::make_shared<IdIndex>();
  std::vector<std::uint64_t> seqs;
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    const fs::path path = folder / files[i];
    CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
    auto header = decode_part_header(bytes);
    if (!header) return std::unexpected(std::move(header).error().with_context(path.string()));
    auto ids = decode_part_ids(bytes);
    if (!ids) return std::unexpected(std::move(ids).error().with_context(path.string()));
    index->parts.push_back(IdIndex::Part{.file = files[i], .records = 0});
    seqs.push_back(header->write_seq);
    for (const auto& id : *ids) index->winner.add(id_hash(id), i);
  }
  index->winner.seal();
  // Same rule as sealing: the higher write_seq wins, then the later file name.
  index->winner.keep_one_per_hash([&](std::uint32_t a, std::uint32_t b) {
    return seqs[a] != seqs[b] ? seqs[a] > seqs[b] : a > b;
  });
  for (const auto& [hash, part] : index->winner.entries()) ++index->parts[part].records;
  std::lock_guard lock(mu_);
  if (auto state = state_locked(name); state && (*state)->generation == generation) {
    (*state)->index = index;
  }
  return std::shared_ptr<const IdIndex>(std::move(index));
}

Result<SnapshotStore::PartView> SnapshotStore::parts_for(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    CM_RETURN_IF_ERROR(state_locked(name));
    if (manifest_) {
      CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(name));
      PartView view;
      for (const auto& p : entry->parts) view.parts.push_back({p.file, p.records});
      return view;
    }
  }
  CM_ASSIGN_OR_RETURN(auto index, index_for(name));
  return PartView{index->parts, index};
}

Result<std::shared_ptr<const std::vector<Record>>> SnapshotStore::load_part(
    const std::string& name, const std::string& file) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(name));
    for (const auto& [cached_file, records] : state->part_cache) {
      if (cached_file == file) return records;
    }
    generation = state->generation;
  }
  CM_ASSIGN_OR_RETURN(auto part,
                      snapshot::read_part_file(snapshot::collection_dir(dir_, name) / file));
  auto records = std::make_shared<const std::vector<Record>>(std::move(part.records));
  std::lock_guard lock(mu_);
  if (auto state = state_locked(name); state && (*state)->generation == generation) {
    auto& cache = (*state)->part_cache;
    cache.emplace_front(file, records);
    if (cache.size() > kPartCacheSize) cache.pop_back();
  }
  return records;
}

Result<std::uint64_t> SnapshotStore::count(const CollectionInfo& collection) {
  std::shared_lock ops(ops_mu_);
  {
    std::lock_guard lock(mu_);
    CM_RETURN_IF_ERROR(state_locked(collection.name));
    if (overlay_) return overlay_->count(collection.name);
    if (manifest_) {
      CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(collection.name));
      return entry->record_count;
    }
  }
  CM_ASSIGN_OR_RETURN(auto index, index_for(collection.name));
  return static_cast<std::uint64_t>(index->winner.size());
}

Result<std::vector<std::string>> SnapshotStore::list_ids(const CollectionInfo& collection,
                                                         std::uint64_t offset,
                                                         std::uint32_t limit) {
  std::shared_lock ops(ops_mu_);
  std::vector<std::string> out;
  if (limit == 0) return out;
  if (overlay_) return overlay_->list_ids(collection, offset, limit);
  CM_ASSIGN_OR_RETURN(auto view, parts_for(collection.name));
  const fs::path folder = snapshot::collection_dir(dir_, collection.name);
  std::uint64_t skip = offset;
  for (std::uint32_t i = 0; i < view.parts.size(); ++i) {
    // Whole parts before the offset are skipped by their record counts, without reading them.
    if (skip >= view.parts[i].records) {
      skip -= view.parts[i].records;
      continue;
    }
    CM_ASSIGN_OR_RETURN(auto ids, read_ids(folder / view.parts[i].file));
    for (auto& id : ids) {
      if (view.filter) {
        // Skip copies superseded by a later part (or written after the index was built).
        const std::uint32_t* part = view.filter->part_of(id_hash(id));
        if (!part || *part != i) continue;
      }
      if (skip > 0) {
        --skip;
        continue;
      }
      out.push_back(std::move(id));
      if (out.size() == limit) return out;
    }
  }
  return out;
}

Result<std::vector<Record>> SnapshotStore::get_records(const CollectionInfo& collection,
                                                       std::span<const std::string> ids) {
  std::shared_lock ops(ops_mu_);
  std::vector<Record> out;
  if (ids.empty()) return out;
  if (overlay_) return overlay_->get_records(collection, ids);
  CM_ASSIGN_OR_RETURN(auto index, index_for(collection.name));
  // Requested ids grouped by the part holding their current copy.
  std::unordered_map<std::uint32_t, std::unordered_set<std::string_view>> by_part;
  for (const auto& id : ids) {
    if (const std::uint32_t* part = index->part_of(id_hash(id))) by_part[*part].insert(id);
  }
  for (const auto& [part, wanted] : by_part) {
    CM_ASSIGN_OR_RETURN(auto records, load_part(collection.name, index->parts[part].file));
    for (const auto& r : *records) {
      if (wanted.contains(r.id)) out.push_back(r);
    }
  }
  return out;
}

Result<std::size_t> SnapshotStore::part_count(const std::string& collection) {
  std::lock_guard lock(mu_);
  CM_RETURN_IF_ERROR(state_locked(collection));
  if (!manifest_) {
    return make_error(ErrorCode::kInvalidArgument, describe() + " is not sealed");
  }
  CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(collection));
  if (overlay_) return overlay_->part_count(collection);
  return entry->parts.size();
}

Result<std::pair<std::string, ManifestPart>> SnapshotStore::listed_part_bytes(
    const std::string& collection, std::size_t index) {
  ManifestPart listed;
  {
    std::lock_guard lock(mu_);
    CM_RETURN_IF_ERROR(state_locked(collection));
    if (!manifest_) {
      return make_error(ErrorCode::kInvalidArgument, describe() + " is not sealed");
    }
    CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(collection));
    const auto& parts = entry->parts;
    if (index >= parts.size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "part " + std::to_string(index) + " of collection \"" + collection +
                            "\" does not exist (" + std::to_string(parts.size()) + " parts)");
    }
    listed = parts[index];
  }
  const fs::path path = snapshot::collection_dir(dir_, collection) / listed.file;
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  if (bytes.size() != listed.bytes || xxh3_64_hex(bytes) != listed.xxh3_64) {
    return make_error(ErrorCode::kCorruption,
                      path.string() + " does not match the manifest (size or xxh3_64)");
  }
  return std::pair{std::move(bytes), std::move(listed)};
}

Result<std::vector<Record>> SnapshotStore::read_part(const std::string& collection,
                                                     std::size_t index) {
  std::shared_lock ops(ops_mu_);
  if (overlay_) return overlay_->read_part(collection, index, false);
  CM_ASSIGN_OR_RETURN(auto listed, listed_part_bytes(collection, index));
  const auto& [bytes, entry] = listed;
  const fs::path path = snapshot::collection_dir(dir_, collection) / entry.file;
  auto part = decode_part(bytes);
  if (!part) return std::unexpected(std::move(part).error().with_context(path.string()));
  CM_RETURN_IF_ERROR(snapshot::refuse_marked_records(*part, path));
  if (part->records.size() != entry.records) {
    return make_error(ErrorCode::kCorruption,
                      path.string() + " holds " + std::to_string(part->records.size()) +
                          " records, the manifest says " + std::to_string(entry.records));
  }
  return std::move(part->records);
}

Result<std::string> SnapshotStore::part_file(const std::string& collection, std::size_t index) {
  std::lock_guard lock(mu_);
  CM_RETURN_IF_ERROR(state_locked(collection));
  if (!manifest_) return make_error(ErrorCode::kInvalidArgument, describe() + " is not sealed");
  CM_ASSIGN_OR_RETURN(const ManifestCollection* entry, manifest_entry_locked(collection));
  if (index >= entry->parts.size()) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "part " + std::to_string(index) + " of collection \"" + collection + "\" does not exist");
  }
  return entry->parts[index].file;
}

Result<std::vector<Record>> SnapshotStore::read_part_file(const std::string& collection,
                                                          const std::string& file,
                                                          std::size_t expected_records) {
  std::shared_lock ops(ops_mu_);
  if (overlay_) {
    return make_error(ErrorCode::kInvalidArgument,
                      describe() + " has delta generations: read its parts by index");
  }
  if (!snapshot::is_part_file_name(file)) {
    return make_error(ErrorCode::kInvalidArgument, "'" + file + "' is not a part file name");
  }
  const fs::path path = snapshot::collection_dir(dir_, collection) / file;
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  auto part = decode_part(bytes);
  if (!part) return std::unexpected(std::move(part).error().with_context(path.string()));
  CM_RETURN_IF_ERROR(snapshot::refuse_marked_records(*part, path));
  if (part->records.size() != expected_records) {
    return make_error(ErrorCode::kCorruption,
                      path.string() + " holds " + std::to_string(part->records.size()) +
                          " records, " + std::to_string(expected_records) + " were written");
  }
  return std::move(part->records);
}

Result<std::vector<Record>> SnapshotStore::read_part_vectors(const std::string& collection,
                                                             std::size_t index) {
  std::shared_lock ops(ops_mu_);
  if (overlay_) return overlay_->read_part(collection, index, true);
  CM_ASSIGN_OR_RETURN(auto listed, listed_part_bytes(collection, index));
  const auto& [bytes, entry] = listed;
  const fs::path path = snapshot::collection_dir(dir_, collection) / entry.file;
  auto records = decode_part_vectors(bytes);
  if (!records) return std::unexpected(std::move(records).error().with_context(path.string()));
  if (records->size() != entry.records) {
    return make_error(ErrorCode::kCorruption,
                      path.string() + " holds " + std::to_string(records->size()) +
                          " records, the manifest says " + std::to_string(entry.records));
  }
  return records;
}

Result<DecodedPart> SnapshotStore::read_part_marked(const std::string& collection,
                                                    std::size_t index) {
  std::shared_lock ops(ops_mu_);
  CM_ASSIGN_OR_RETURN(auto listed, listed_part_bytes(collection, index));
  const auto& [bytes, entry] = listed;
  const fs::path path = snapshot::collection_dir(dir_, collection) / entry.file;
  auto part = decode_part(bytes);
  if (!part) return std::unexpected(std::move(part).error().with_context(path.string()));
  if (part->records.size() != entry.records) {
    return make_error(ErrorCode::kCorruption,
                      path.string() + " holds " + std::to_string(part->records.size()) +
                          " records, the manifest says " + std::to_string(entry.records));
  }
  return std::move(*part);
}

}  // namespace cm
