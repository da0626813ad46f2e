// SnapshotStore: opening, collection management, state helpers. Record writes and sealing:
// snapshot_store_write.cpp; reads: snapshot_store_read.cpp.
#include "common/snapshot/snapshot_store.hpp"

#include <algorithm>
#include <atomic>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_generations.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_overlay.hpp"
#include "common/snapshot/snapshot_store_internal.hpp"

namespace cm {
namespace fs = std::filesystem;

namespace {

// A manifest names folders and files that reads open: refuse names that would leave the snapshot
// directory. (verify_snapshot reports these instead of failing.)
Status check_manifest_paths(const SnapshotManifest& manifest) {
  for (const auto& c : manifest.collections) {
    if (auto why = snapshot::unsafe_collection_name_reason(c.info.name)) {
      return make_error(ErrorCode::kCorruption, "manifest.json: " + *why);
    }
    for (const auto& p : c.parts) {
      if (!snapshot::is_part_file_name(p.file)) {
        return make_error(ErrorCode::kCorruption,
                          "manifest.json: \"" + p.file + "\" is not a part file name");
      }
    }
  }
  return ok_status();
}

}  // namespace

SnapshotStore::SnapshotStore(fs::path dir, Mode mode) : dir_(std::move(dir)), mode_(mode) {}
SnapshotStore::~SnapshotStore() = default;  // here, where Overlay is complete

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(const fs::path& dir, Mode mode) {
  CM_ASSIGN_OR_RETURN(auto store, open_single(dir, mode));
  if (mode == Mode::kWrite) return store;
  CM_ASSIGN_OR_RETURN(auto deltas, snapshot::committed_deltas(dir));
  if (deltas.empty()) return store;
  auto overlay = Overlay::open(dir, deltas);
  if (!overlay) return std::unexpected(std::move(overlay).error().with_context(dir.string()));
  store->overlay_ = std::move(*overlay);
  return store;
}

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open_single(const fs::path& dir, Mode mode) {
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(dir, mode));
  if (mode == Mode::kWrite) {
    CM_RETURN_IF_ERROR(store->load_for_write());
    return store;
  }
  auto text = read_file(snapshot::manifest_path(dir));
  if (!text) {
    if (text.error().code != ErrorCode::kNotFound) return std::unexpected(text.error());
    return make_error(ErrorCode::kNotFound,
                      dir.string() + " is not a sealed snapshot (no manifest.json)");
  }
  CM_ASSIGN_OR_RETURN(auto manifest, parse_manifest(*text));
  CM_RETURN_IF_ERROR(check_manifest_paths(manifest));
  for (const auto& c : manifest.collections) {
    auto state = std::make_unique<CollectionState>();
    state->info = c.info;
    state->generation = store->next_generation_++;
    store->collections_[c.info.name] = std::move(state);
  }
  store->description_ = manifest.description;
  store->generation_ = manifest.generation;
  store->base_ = manifest.base;
  store->shard_ = manifest.shard;
  store->manifest_ = std::move(manifest);
  return store;
}

Status SnapshotStore::load_for_write() {
  CM_RETURN_IF_ERROR(ensure_directory(snapshot::collections_dir(dir_)));
  snapshot::remove_stale_temp_files(dir_);
  auto text = read_file(snapshot::manifest_path(dir_));
  if (text) {
    CM_ASSIGN_OR_RETURN(manifest_, parse_manifest(*text));
    CM_RETURN_IF_ERROR(check_manifest_paths(*manifest_));
    description_ = manifest_->description;
    generation_ = manifest_->generation;
    base_ = manifest_->base;
    shard_ = manifest_->shard;
  } else if (text.error().code != ErrorCode::kNotFound) {
    return std::unexpected(text.error());
  }
  // Leftovers of a delete_collection interrupted by a crash (see there).
  std::error_code ec;
  for (fs::directory_iterator it(snapshot::collections_dir(dir_), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().starts_with(".deleted-")) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
  CM_ASSIGN_OR_RETURN(auto names, snapshot::list_collection_dirs(dir_));
  for (const auto& name : names) {
    const fs::path folder = snapshot::collection_dir(dir_, name);
    snapshot::remove_stale_temp_files(folder);
    auto info_text = read_file(folder / "collection.json");
    // A crash between creating the folder and writing collection.json leaves an empty folder:
    // no collection yet, and create_collection will reuse it.
    if (!info_text && info_text.error().code == ErrorCode::kNotFound) continue;
    if (!info_text) return std::unexpected(info_text.error());
    auto info = parse_collection_info(*info_text);
    if (!info) return std::unexpected(std::move(info).error().with_context(folder.string()));
    if (info->name != name) {
      // rename_collection moves the folder before rewriting collection.json: a crash in between
      // leaves the old name inside the renamed folder. The folder name wins; finish the rename.
      info->name = name;
      CM_RETURN_IF_ERROR(
          write_file_atomic(folder / "collection.json", json_text(collection_info_to_json(*info))));
    }
    auto state = std::make_unique<CollectionState>();
    state->info = std::move(*info);
    state->generation = next_generation_++;
    CM_ASSIGN_OR_RETURN(auto parts, snapshot::list_part_files(folder));
    for (const auto& file : parts) {
      CM_ASSIGN_OR_RETURN(auto header, snapshot::read_part_header_file(folder / file));
      state->max_write_seq = std::max(state->max_write_seq, header.write_seq);
    }
    collections_[name] = std::move(state);
  }
  return ok_status();
}

std::string SnapshotStore::describe() const {
  return "snapshot " + dir_.string();
}

Result<StoreLimits> SnapshotStore::limits() {
  return StoreLimits{.max_batch_size = kMaxBatchSize, .supports_base64 = false};
}

Status SnapshotStore::check_writable() const {
  if (mode_ == Mode::kWrite) return ok_status();
  return make_error(ErrorCode::kInvalidArgument, describe() + " is open read-only");
}

Status SnapshotStore::unseal_locked() {
  if (!manifest_) return ok_status();
  CM_RETURN_IF_ERROR(snapshot::remove_file_durably(snapshot::manifest_path(dir_)));
  manifest_.reset();
  return ok_status();
}

void SnapshotStore::invalidate_locked(CollectionState& state) {
  state.generation = next_generation_++;
  state.index.reset();
  state.part_cache.clear();
}

Result<SnapshotStore::CollectionState*> SnapshotStore::state_locked(const std::string& name) {
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    return make_error(ErrorCode::kNotFound, "no collection \"" + name + "\" in " + describe());
  }
  return it->second.get();
}

Result<std::vector<CollectionInfo>> SnapshotStore::list_collections() {
  std::lock_guard lock(mu_);
  std::vector<CollectionInfo> out;
  for (const auto& [name, state] : collections_) out.push_back(state->info);
  return out;
}

Result<std::optional<CollectionInfo>> SnapshotStore::find_collection(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = collections_.find(name);
  if (it == collections_.end()) return std::optional<CollectionInfo>();
  return std::optional<CollectionInfo>(it->second->info);
}

Result<CollectionInfo> SnapshotStore::create_collection(const CollectionSpec& spec) {
  CollectionInfo info;
  info.name = spec.name;
  info.metadata = spec.metadata;
  info.hnsw = spec.hnsw;
  info.configuration = spec.configuration.empty()
                           ? nlohmann::json{{"hnsw", hnsw_to_json(spec.hnsw)}}
                           : spec.configuration;
  return create_collection_from(info);
}

Result<CollectionInfo> SnapshotStore::create_collection_from(const CollectionInfo& source) {
  CM_RETURN_IF_ERROR(check_writable());
  if (auto why = snapshot::unsafe_collection_name_reason(source.name)) {
    return make_error(ErrorCode::kInvalidArgument, *why + ": \"" + source.name + "\"");
  }
  if (auto why = metadata_not_representable_reason(source.metadata)) {
    return make_error(ErrorCode::kInvalidArgument, "collection \"" + source.name + "\": " + *why);
  }
  std::shared_lock ops(ops_mu_);
  std::lock_guard lock(mu_);
  std::error_code ec;
  if (collections_.contains(source.name) ||
      fs::exists(snapshot::collection_json_path(dir_, source.name), ec)) {
    return make_error(ErrorCode::kAlreadyExists,
                      "collection \"" + source.name + "\" already exists in " + describe());
  }
  CM_RETURN_IF_ERROR(unseal_locked());
  CM_RETURN_IF_ERROR(ensure_directory(snapshot::collection_dir(dir_, source.name)));
  CM_RETURN_IF_ERROR(write_file_atomic(snapshot::collection_json_path(dir_, source.name),
                                       json_text(collection_info_to_json(source))));
  auto state = std::make_unique<CollectionState>();
  state->info = source;
  state->generation = next_generation_++;
  collections_[source.name] = std::move(state);
  return source;
}

Status SnapshotStore::update_collection_metadata(const CollectionInfo& collection,
                                                 const Metadata& metadata) {
  CM_RETURN_IF_ERROR(check_writable());
  if (auto why = metadata_not_representable_reason(metadata)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "collection \"" + collection.name + "\": " + *why);
  }
  std::shared_lock ops(ops_mu_);
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(collection.name));
  CM_RETURN_IF_ERROR(unseal_locked());
  CollectionInfo updated = state->info;
  updated.metadata = metadata;
  CM_RETURN_IF_ERROR(write_file_atomic(snapshot::collection_json_path(dir_, collection.name),
                                       json_text(collection_info_to_json(updated))));
  state->info = std::move(updated);
  return ok_status();
}

Status SnapshotStore::rename_collection(const CollectionInfo& collection,
                                        const std::string& new_name) {
  CM_RETURN_IF_ERROR(check_writable());
  if (auto why = snapshot::unsafe_collection_name_reason(new_name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot rename to \"" + new_name + "\": " + *why);
  }
  std::unique_lock ops(ops_mu_);
  std::lock_guard lock(mu_);
  CM_ASSIGN_OR_RETURN(CollectionState * state, state_locked(collection.name));
  std::error_code ec;
  if (collections_.contains(new_name) || fs::exists(snapshot::collection_dir(dir_, new_name), ec)) {
    return make_error(ErrorCode::kAlreadyExists,
                      "collection \"" + new_name + "\" already exists in " + describe());
  }
  CM_RETURN_IF_ERROR(unseal_locked());
  // The folder first, then its collection.json: the folder name is what lookups use, and a load
  // that finds a collection.json still naming the old name completes the rename (load_for_write).
  fs::rename(snapshot::collection_dir(dir_, collection.name),
             snapshot::collection_dir(dir_, new_name), ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot rename collection " + collection.name + " to " +
                                          new_name + ": " + ec.message());
  }
  CM_RETURN_IF_ERROR(fsync_directory(snapshot::collections_dir(dir_)));
  CollectionInfo renamed = state->info;
  renamed.name = new_name;
  CM_RETURN_IF_ERROR(write_file_atomic(snapshot::collection_json_path(dir_, new_name),
                                       json_text(collection_info_to_json(renamed))));
  auto node = collections_.extract(collection.name);
  node.key() = new_name;
  node.mapped()->info = std::move(renamed);
  invalidate_locked(*node.mapped());
  collections_.insert(std::move(node));
  return ok_status();
}

Status SnapshotStore::delete_collection(const std::string& name) {
  CM_RETURN_IF_ERROR(check_writable());
  std::unique_lock ops(ops_mu_);
  std::lock_guard lock(mu_);
  CM_RETURN_IF_ERROR(state_locked(name));
  CM_RETURN_IF_ERROR(unseal_locked());
  // Rename first (atomic), then remove: a crash mid-removal must not leave a half-deleted folder
  // that a later create_collection of the same name would inherit parts from.
  static std::atomic<unsigned> counter{0};
  const fs::path trash =
      snapshot::collections_dir(dir_) / (".deleted-" + name + "." + std::to_string(counter++));
  std::error_code ec;
  fs::rename(snapshot::collection_dir(dir_, name), trash, ec);
  if (ec)
    return make_error(ErrorCode::kIo, "cannot remove collection " + name + ": " + ec.message());
  CM_RETURN_IF_ERROR(fsync_directory(snapshot::collections_dir(dir_)));
  fs::remove_all(trash, ec);  // best effort: the next kWrite open removes leftovers
  collections_.erase(name);
  return ok_status();
}

void SnapshotStore::set_description(std::string description) {
  std::lock_guard lock(mu_);
  description_ = std::move(description);
}

bool SnapshotStore::sealed() const {
  std::lock_guard lock(mu_);
  return manifest_.has_value();
}

std::optional<SnapshotManifest> SnapshotStore::manifest() const {
  std::lock_guard lock(mu_);
  if (overlay_ && manifest_) return overlay_->patched(*manifest_);
  return manifest_;
}

std::vector<std::string> SnapshotStore::deleted_ids(const std::string& collection) const {
  return overlay_ ? overlay_->deleted_ids(collection) : std::vector<std::string>{};
}

std::uint64_t SnapshotStore::generation() const {
  if (overlay_) return overlay_->generation();
  std::lock_guard lock(mu_);
  return generation_;
}

Result<ManifestBase> SnapshotStore::binding() const {
  if (overlay_) return overlay_->binding();
  if (!sealed()) {
    return make_error(ErrorCode::kInvalidArgument,
                      describe() + " is not sealed: no delta can be based on it");
  }
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(snapshot::manifest_path(dir_)));
  return ManifestBase{generation(), xxh3_64_hex(bytes)};
}

Result<VerifyReport> SnapshotStore::verify() {
  std::shared_lock ops(ops_mu_);
  if (!sealed()) {
    return make_error(ErrorCode::kInvalidArgument,
                      describe() + " is not sealed (flush() writes its manifest)");
  }
  CM_ASSIGN_OR_RETURN(auto report, verify_snapshot(dir_));
  if (overlay_) CM_RETURN_IF_ERROR(overlay_->verify_deltas(report));
  return report;
}

}  // namespace cm
