#include "common/persist/vector_view.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

namespace cm {
namespace {

constexpr std::uint32_t kNoEntry = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kNoSlot = std::numeric_limits<std::uint64_t>::max();
constexpr const char* kPickle = "index_metadata.pickle";

bool hash_less(const std::pair<IdHash, std::uint32_t>& a,
               const std::pair<IdHash, std::uint32_t>& b) {
  return std::tie(a.first.high, a.first.low) < std::tie(b.first.high, b.first.low);
}

std::unexpected<Error> corrupt(const std::filesystem::path& file, const std::string& why) {
  return make_error(ErrorCode::kCorruption, file.string() + ": " + why);
}

}  // namespace

Result<std::optional<IndexMetadata>> read_segment_pickle(const std::filesystem::path& folder) {
  const auto file = folder / kPickle;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::optional<IndexMetadata>{};
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  if (!in || !(bytes << in.rdbuf())) {
    return make_error(ErrorCode::kIo, file.string() + ": cannot read");
  }
  auto parsed = parse_index_metadata(bytes.str());
  if (!parsed) return std::unexpected(std::move(parsed).error().with_context(file.string()));
  return std::optional<IndexMetadata>(std::move(*parsed));
}

Result<VectorView> VectorView::build(const std::filesystem::path& folder,
                                     std::optional<IndexMetadata> pickle,
                                     const PersistCollection& collection,
                                     const QueueOverlay& overlay, std::int64_t after) {
  VectorView view;
  view.folder_ = folder;
  view.after_ = after;
  // Chroma 1.x creates header.bin, data_level0.bin and length.bin (no elements) with the
  // collection's first write and writes the pickle only when it persists the index: without a
  // pickle Chroma itself loads nothing from the folder, and neither does this reader.
  if (!pickle) {
    view.apply_overlay(overlay);
    return view;
  }
  CM_ASSIGN_OR_RETURN(view.segment_, HnswSegment::open(folder, collection.info.dimension,
                                                       collection.info.hnsw.space == "cosine"));
  if (!view.segment_ && !pickle->labels.empty()) {
    return corrupt(folder / "header.bin", "is missing, but " + std::string(kPickle) + " maps " +
                                              std::to_string(pickle->labels.size()) + " ids");
  }
  if (view.segment_) CM_RETURN_IF_ERROR(view.map_labels(std::move(*pickle)));
  view.apply_overlay(overlay);
  return view;
}

Status VectorView::map_labels(IndexMetadata pickle) {
  const std::filesystem::path data = folder_ / "data_level0.bin";
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;  // (label, slot)
  CM_RETURN_IF_ERROR(segment_->scan([&](const HnswSlot& slot) -> Status {
    if (!slot.deleted) live.emplace_back(slot.label, slot.index);
    return ok_status();
  }));
  std::sort(live.begin(), live.end());
  for (std::size_t i = 1; i < live.size(); ++i) {
    if (live[i].first == live[i - 1].first) {
      return corrupt(data, "elements " + std::to_string(live[i - 1].second) + " and " +
                               std::to_string(live[i].second) + " are both live with label " +
                               std::to_string(live[i].first));
    }
  }
  entry_of_slot_.assign(segment_->slot_count(), kNoEntry);
  entries_.reserve(pickle.labels.size());
  by_hash_.reserve(pickle.labels.size());
  for (const auto& [id, label] : pickle.labels) {
    auto it = std::lower_bound(live.begin(), live.end(), std::make_pair(label, std::uint64_t{0}));
    const bool found = it != live.end() && it->first == label;
    const auto index = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(
        {ids_.size(), static_cast<std::uint32_t>(id.size()), false, found ? it->second : kNoSlot});
    ids_ += id;
    by_hash_.emplace_back(id_hash(id), index);
    if (found) {
      entry_of_slot_[it->second] = index;
    } else {
      missing_[id] = (folder_ / kPickle).string() + ": maps it to label " + std::to_string(label) +
                     ", which is no live element of data_level0.bin (" +
                     std::to_string(live.size()) + " live of " +
                     std::to_string(segment_->slot_count()) + " elements)";
    }
  }
  std::sort(by_hash_.begin(), by_hash_.end(), hash_less);
  return ok_status();
}

void VectorView::apply_overlay(const QueueOverlay& overlay) {
  for (const auto& entry : overlay.entries()) {
    const Entry* base = find_entry(entry.id);  // Chroma's "exists": the pickle maps the id
    const VectorState state = replay_vector(base != nullptr, entry.ops, after_);
    if (state.exists && !state.queue_seq && base) continue;  // the segment's copy is current
    if (base) entries_[static_cast<std::size_t>(base - entries_.data())].replaced = true;
    Location decided;
    if (state.exists && state.queue_seq) {
      decided = {Location::Kind::kQueue, 0, *state.queue_seq};
      queue_vectors_.emplace_back(&entry.id, *state.queue_seq);
    }
    queued_[entry.id] = decided;
  }
}

const VectorView::Entry* VectorView::find_entry(std::string_view id) const {
  const std::pair<IdHash, std::uint32_t> key{id_hash(id), 0};
  auto it = std::lower_bound(by_hash_.begin(), by_hash_.end(), key, hash_less);
  if (it == by_hash_.end() || !(it->first == key.first)) return nullptr;
  const Entry& e = entries_[it->second];
  return id_of(e) == id ? &e : nullptr;  // a 128-bit hash collision: never seen, not trusted
}

VectorView::Location VectorView::locate(std::string_view id) const {
  if (auto it = queued_.find(id); it != queued_.end()) return it->second;
  const Entry* e = find_entry(id);
  if (!e || e->slot == kNoSlot) return {};
  return {Location::Kind::kSegment, e->slot, 0};
}

std::string VectorView::missing_reason(std::string_view id) const {
  auto it = missing_.find(std::string(id));
  return it == missing_.end() ? std::string() : it->second;
}

Status VectorView::scan_segment(
    const std::function<Status(std::string_view id, const HnswSlot&)>& fn) const {
  if (!segment_) return ok_status();
  return segment_->scan([&](const HnswSlot& slot) -> Status {
    const std::uint32_t e = entry_of_slot_[slot.index];
    if (e == kNoEntry || entries_[e].replaced) return ok_status();
    return fn(id_of(entries_[e]), slot);
  });
}

}  // namespace cm
