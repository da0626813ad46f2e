#include "common/snapshot/snapshot_overlay.hpp"

#include <algorithm>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_generations.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "common/snapshot/snapshot_store_internal.hpp"

namespace cm {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kBaseIdPage = 1024;

Result<std::string> manifest_hash(const fs::path& dir) {
  CM_ASSIGN_OR_RETURN(auto bytes, read_file(snapshot::manifest_path(dir)));
  return xxh3_64_hex(bytes);
}

}  // namespace

Result<std::unique_ptr<SnapshotStore::Overlay>> SnapshotStore::Overlay::open(
    const fs::path& dir, const std::vector<std::uint64_t>& generations) {
  std::unique_ptr<Overlay> overlay(new Overlay());
  auto add_layer = [&](std::uint64_t generation, const fs::path& at) -> Status {
    CM_ASSIGN_OR_RETURN(auto store, open_single(at, Mode::kRead));
    CM_ASSIGN_OR_RETURN(auto hash, manifest_hash(at));
    overlay->layers_.push_back({generation, at, std::move(store), std::move(hash)});
    return ok_status();
  };
  CM_RETURN_IF_ERROR(add_layer(0, dir));
  overlay->layers_[0].generation = overlay->layers_[0].store->generation_;
  for (std::uint64_t g : generations) {
    CM_RETURN_IF_ERROR(add_layer(g, snapshot::delta_dir(dir, g)));
    CM_RETURN_IF_ERROR(
        overlay->index_delta(static_cast<std::uint32_t>(overlay->layers_.size() - 1)));
  }
  for (const auto& [name, newest] : overlay->newest_)
    CM_RETURN_IF_ERROR(overlay->compute_count(name));
  return overlay;
}

Status SnapshotStore::Overlay::index_delta(std::uint32_t layer) {
  const Layer& delta = layers_[layer];
  const Layer& below = layers_[layer - 1];
  const auto manifest = delta.store->manifest();
  const ManifestBase expected{below.generation, below.manifest_xxh3_64};
  if (!manifest || manifest->generation != delta.generation || manifest->base != expected) {
    return make_error(ErrorCode::kCorruption,
                      delta.dir.string() + " is not generation " +
                          std::to_string(delta.generation) + " on top of " + below.dir.string() +
                          " (its manifest's generation or base binding differs): the snapshot "
                          "chain is broken; do not trust it");
  }
  for (const auto& c : manifest->collections) {
    CM_ASSIGN_OR_RETURN(auto in_base, layers_[0].store->find_collection(c.info.name));
    if (!in_base) {
      return make_error(ErrorCode::kCorruption, delta.dir.string() + " holds collection '" +
                                                    c.info.name + "', which its base lacks");
    }
    auto& newest = newest_[c.info.name];
    for (std::size_t p = 0; p < c.parts.size(); ++p) {
      CM_ASSIGN_OR_RETURN(auto part, delta.store->read_part_marked(c.info.name, p));
      std::vector<bool> tombstone(part.records.size(), false);
      for (const auto& [index, mark] : part.marks)
        tombstone[index] = mark.kind == RecordMark::Kind::kTombstone;
      for (std::size_t i = 0; i < part.records.size(); ++i)
        newest[part.records[i].id] = {layer, tombstone[i]};
    }
  }
  return ok_status();
}

Status SnapshotStore::Overlay::compute_count(const std::string& collection) {
  SnapshotStore& base = *layers_[0].store;
  CM_ASSIGN_OR_RETURN(auto info, base.find_collection(collection));
  CM_ASSIGN_OR_RETURN(std::uint64_t n, base.count(*info));
  CM_ASSIGN_OR_RETURN(auto index, base.index_for(collection));
  for (const auto& [id, newest] : newest_.at(collection)) {
    if (index->winner.contains(id_hash(id))) --n;
    if (!newest.tombstone) ++n;
  }
  counts_[collection] = n;
  return ok_status();
}

SnapshotManifest SnapshotStore::Overlay::patched(SnapshotManifest base) const {
  for (auto& c : base.collections) {
    if (auto it = counts_.find(c.info.name); it != counts_.end()) c.record_count = it->second;
  }
  return base;
}

Result<std::uint64_t> SnapshotStore::Overlay::count(const std::string& collection) const {
  if (auto it = counts_.find(collection); it != counts_.end()) return it->second;
  CM_ASSIGN_OR_RETURN(auto info, layers_[0].store->find_collection(collection));
  if (!info) return make_error(ErrorCode::kNotFound, "no collection \"" + collection + "\"");
  return layers_[0].store->count(*info);
}

std::vector<std::string> SnapshotStore::Overlay::deleted_ids(const std::string& collection) const {
  std::vector<std::string> out;
  auto it = newest_.find(collection);
  if (it == newest_.end()) return out;
  for (const auto& [id, n] : it->second)
    if (n.tombstone) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

bool SnapshotStore::Overlay::current(const NewestMap* newest, const std::string& id,
                                     std::uint32_t layer) const {
  if (!newest) return layer == 0;
  auto it = newest->find(id);
  if (it == newest->end()) return layer == 0;
  return it->second.layer == layer && !it->second.tombstone;
}

Result<std::pair<std::uint32_t, std::size_t>> SnapshotStore::Overlay::locate(
    const std::string& collection, std::size_t index) {
  std::size_t at = index;
  for (std::uint32_t l = 0; l < layers_.size(); ++l) {
    CM_ASSIGN_OR_RETURN(auto has, layers_[l].store->find_collection(collection));
    if (!has) continue;
    CM_ASSIGN_OR_RETURN(std::size_t parts, layers_[l].store->part_count(collection));
    if (at < parts) return std::pair{l, at};
    at -= parts;
  }
  return make_error(
      ErrorCode::kInvalidArgument,
      "part " + std::to_string(index) + " of collection \"" + collection + "\" does not exist");
}

Result<std::size_t> SnapshotStore::Overlay::part_count(const std::string& collection) {
  std::size_t total = 0;
  for (const auto& layer : layers_) {
    CM_ASSIGN_OR_RETURN(auto has, layer.store->find_collection(collection));
    if (!has) continue;
    CM_ASSIGN_OR_RETURN(std::size_t parts, layer.store->part_count(collection));
    total += parts;
  }
  return total;
}

Result<std::vector<Record>> SnapshotStore::Overlay::read_part(const std::string& collection,
                                                              std::size_t index,
                                                              bool vectors_only) {
  CM_ASSIGN_OR_RETURN(auto where, locate(collection, index));
  const auto [layer, part] = where;
  std::vector<Record> records;
  if (layer == 0) {
    SnapshotStore& base = *layers_[0].store;
    CM_ASSIGN_OR_RETURN(records, vectors_only ? base.read_part_vectors(collection, part)
                                              : base.read_part(collection, part));
  } else {
    CM_ASSIGN_OR_RETURN(auto decoded, layers_[layer].store->read_part_marked(collection, part));
    records = std::move(decoded.records);
    if (vectors_only) {
      for (auto& r : records) {
        r.document.reset();
        r.metadata.clear();
        r.uri.reset();
      }
    }
  }
  auto it = newest_.find(collection);
  const NewestMap* newest = it == newest_.end() ? nullptr : &it->second;
  std::erase_if(records, [&](const Record& r) { return !current(newest, r.id, layer); });
  return records;
}

Result<std::vector<Record>> SnapshotStore::Overlay::get_records(const CollectionInfo& collection,
                                                                std::span<const std::string> ids) {
  std::map<std::uint32_t, std::vector<std::string>> by_layer;
  auto it = newest_.find(collection.name);
  for (const auto& id : ids) {
    if (it == newest_.end()) {
      by_layer[0].push_back(id);
      continue;
    }
    auto n = it->second.find(id);
    if (n == it->second.end()) {
      by_layer[0].push_back(id);
    } else if (!n->second.tombstone) {
      by_layer[n->second.layer].push_back(id);
    }
  }
  std::vector<Record> out;
  for (const auto& [layer, wanted] : by_layer) {
    CM_ASSIGN_OR_RETURN(auto records, layers_[layer].store->get_records(collection, wanted));
    for (auto& r : records) out.push_back(std::move(r));
  }
  return out;
}

Status SnapshotStore::Overlay::refill(const CollectionInfo& collection, Cursor& cursor) {
  cursor.pending.clear();
  cursor.pending_at = 0;
  auto it = newest_.find(collection.name);
  const NewestMap* newest = it == newest_.end() ? nullptr : &it->second;
  if (cursor.stage == 0) {
    CM_ASSIGN_OR_RETURN(auto page,
                        layers_[0].store->list_ids(collection, cursor.base_offset, kBaseIdPage));
    cursor.base_offset += page.size();
    if (page.size() < kBaseIdPage) cursor.stage = 1;
    for (auto& id : page)
      if (current(newest, id, 0)) cursor.pending.push_back(std::move(id));
    return ok_status();
  }
  cursor.stage = 2;
  if (!newest) return ok_status();
  for (const auto& [id, n] : *newest)
    if (!n.tombstone) cursor.pending.push_back(id);
  std::sort(cursor.pending.begin(), cursor.pending.end());
  return ok_status();
}

Result<std::vector<std::string>> SnapshotStore::Overlay::list_ids(const CollectionInfo& collection,
                                                                  std::uint64_t offset,
                                                                  std::uint32_t limit) {
  std::lock_guard lock(cursor_mu_);
  std::uint64_t skip = 0;
  auto found = cursors_.find(collection.name);
  if (found == cursors_.end() || found->second.next != offset) {
    found = cursors_.insert_or_assign(collection.name, Cursor{}).first;
    skip = offset;
  }
  Cursor& cursor = found->second;
  std::vector<std::string> out;
  while (out.size() < limit) {
    if (cursor.pending_at == cursor.pending.size()) {
      if (cursor.stage == 2) break;
      auto refilled = refill(collection, cursor);
      if (!refilled) {
        cursors_.erase(collection.name);
        return std::unexpected(refilled.error());
      }
      continue;
    }
    std::string& id = cursor.pending[cursor.pending_at++];
    if (skip > 0) {
      --skip;
      continue;
    }
    out.push_back(std::move(id));
  }
  cursor.next = offset + out.size();
  return out;
}

Status SnapshotStore::Overlay::verify_deltas(VerifyReport& report) const {
  for (std::size_t l = 1; l < layers_.size(); ++l) {
    CM_ASSIGN_OR_RETURN(auto delta, verify_snapshot(layers_[l].dir));
    const std::string prefix =
        (layers_[l].dir.parent_path().filename() / layers_[l].dir.filename()).string() + "/";
    for (auto& p : delta.problems) {
      p.file = prefix + p.file;
      report.problems.push_back(std::move(p));
    }
    report.collections_checked += delta.collections_checked;
    report.parts_checked += delta.parts_checked;
    report.records_checked += delta.records_checked;
  }
  return ok_status();
}

}  // namespace cm
