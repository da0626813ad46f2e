#include "common/persist/vector_view.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_set>

namespace cm {
namespace {

constexpr std::uint32_t kNoEntry = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kNoSlot = std::numeric_limits<std::uint64_t>::max();
constexpr const char* kPickle = "index_metadata.pickle";

bool hash_less(const std::pair<IdHash, std::uint32_t>& a,
               const std::pair<IdHash, std::uint32_t>& b) {
  return std::tie(a.first.high, a.first.low) < std::tie(b.first.high, b.first.low);
}

}  // namespace

Result<SegmentPickle> read_segment_pickle(const std::filesystem::path& folder) {
  const auto file = folder / kPickle;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return SegmentPickle{};
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  if (!in || !(bytes << in.rdbuf())) {
    return make_error(ErrorCode::kIo, file.string() + ": cannot read");
  }
  auto parsed = parse_index_metadata(bytes.str());
  if (!parsed) return SegmentPickle{std::nullopt, file.string() + ": " + parsed.error().message};
  return SegmentPickle{std::move(*parsed), {}};
}

Result<VectorView> VectorView::build(const std::filesystem::path& folder, SegmentPickle pickle,
                                     const PersistCollection& collection,
                                     const QueueOverlay& overlay, std::int64_t after) {
  VectorView view;
  view.folder_ = folder;
  view.after_ = after;
  // Chroma 1.x creates header.bin, data_level0.bin and length.bin (no elements) with the
  // collection's first write and writes the pickle only when it persists the index: without a
  // pickle Chroma itself loads nothing from the folder, and neither does this reader.
  if (!pickle.metadata && pickle.damage.empty()) {
    // A header that counts elements says a pickle was written and is gone: their vectors are
    // lost (said here so that the records the queue cannot give back are explained).
    auto header = HnswSegment::open(folder, std::nullopt, false);
    if (header && *header && (*header)->header().cur_element_count > 0) {
      view.note((folder / "header.bin").string() + ": counts " +
                std::to_string((*header)->header().cur_element_count) +
                " elements, but there is no " + kPickle + " to match them to ids");
    }
    view.apply_overlay(overlay);
    return view;
  }
  if (!pickle.damage.empty()) {
    view.note(pickle.damage + "; no vector of the segment can be matched to its id");
  }
  const bool with_lengths = collection.info.hnsw.space == "cosine";
  auto segment = HnswSegment::open(folder, collection.info.dimension, with_lengths);
  if (!segment) {
    if (segment.error().code != ErrorCode::kCorruption) return std::unexpected(segment.error());
    view.note(segment.error().message + "; the segment's vectors cannot be read");
  } else {
    view.segment_ = std::move(*segment);
  }
  if (view.segment_) {
    view.figures_.elements = view.segment_->header().cur_element_count;
    if (!view.segment_->truncation().empty()) view.note(view.segment_->truncation());
  } else if (segment && pickle.metadata && !pickle.metadata->labels.empty()) {
    view.note((folder / "header.bin").string() + ": is missing, but " + kPickle + " maps " +
              std::to_string(pickle.metadata->labels.size()) + " ids");
  }
  if (pickle.metadata) {
    CM_RETURN_IF_ERROR(view.map_labels(std::move(*pickle.metadata), with_lengths));
  } else {
    // No label map: the live elements are counted (orphans all), none can be matched to an id.
    CM_ASSIGN_OR_RETURN(auto live, view.live_elements(with_lengths));
    view.figures_.orphan_labels = live.size();
  }
  view.apply_overlay(overlay);
  return view;
}

Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> VectorView::live_elements(
    bool with_lengths) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;  // (label, slot)
  if (!segment_) return live;
  std::uint64_t bad_norms = 0;
  CM_RETURN_IF_ERROR(segment_->scan([&](const HnswSlot& slot) -> Status {
    if (slot.deleted) {
      ++figures_.deleted;
    } else if (with_lengths && (!std::isfinite(slot.norm) || slot.norm < 0)) {
      ++bad_norms;  // restore() would refuse it: the element's vector is lost
    } else {
      live.emplace_back(slot.label, slot.index);
    }
    return ok_status();
  }));
  if (bad_norms) {
    note((folder_ / "length.bin").string() + ": " + std::to_string(bad_norms) +
         " element(s) have an impossible norm (negative or not finite)");
  }
  std::sort(live.begin(), live.end());
  // A label carried by two live elements: neither can be trusted to be the id's vector.
  std::uint64_t twice = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> unique;
  unique.reserve(live.size());
  for (std::size_t i = 0; i < live.size();) {
    std::size_t j = i + 1;
    while (j < live.size() && live[j].first == live[i].first) ++j;
    if (j - i == 1) {
      unique.push_back(live[i]);
    } else {
      ++twice;
    }
    i = j;
  }
  if (twice) {
    note((folder_ / "data_level0.bin").string() + ": " + std::to_string(twice) +
         " label(s) are carried by more than one live element");
  }
  figures_.live = unique.size();
  return unique;
}

Status VectorView::map_labels(IndexMetadata pickle, bool with_lengths) {
  CM_ASSIGN_OR_RETURN(auto live, live_elements(with_lengths));
  entry_of_slot_.assign(segment_ ? segment_->slot_count() : 0, kNoEntry);
  entries_.reserve(pickle.labels.size());
  by_hash_.reserve(pickle.labels.size());
  for (const auto& [id, label] : pickle.labels) {
    auto it = std::lower_bound(live.begin(), live.end(), std::make_pair(label, std::uint64_t{0}));
    const bool found = it != live.end() && it->first == label;
    const auto index = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back({ids_.size(), static_cast<std::uint32_t>(id.size()), false,
                        found ? it->second : kNoSlot, label});
    ids_ += id;
    by_hash_.emplace_back(id_hash(id), index);
    if (found) {
      entry_of_slot_[it->second] = index;
      ++figures_.mapped;
    }
  }
  figures_.orphan_labels = figures_.live - figures_.mapped;
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
  std::string why;
  const Entry* e = find_entry(id);
  if (e && e->slot == kNoSlot && segment_) {
    why = (folder_ / kPickle).string() + ": maps it to label " + std::to_string(e->label) +
          ", which no usable live element of data_level0.bin carries (" +
          std::to_string(figures_.live) + " usable of " + std::to_string(segment_->slot_count()) +
          " readable elements)";
  }
  for (const auto& d : damage_) why += (why.empty() ? "" : "; ") + d;
  return why;
}

Result<std::size_t> VectorView::recover(const SqliteDb& db, const std::string& collection_id,
                                        const std::vector<std::string>& lost) {
  if (lost.empty()) return std::size_t{0};
  const std::unordered_set<std::string_view> wanted(lost.begin(), lost.end());
  CM_ASSIGN_OR_RETURN(auto rows,
                      QueueOverlay::read(db, collection_id, -1,
                                         [&](std::string_view id) { return wanted.contains(id); }));
  std::size_t found = 0;
  for (const auto& entry : rows.entries()) {
    const auto seq = recover_vector(entry.ops);
    if (!seq) continue;
    recovered_ids_.push_back(entry.id);
    const std::string& id = recovered_ids_.back();
    queued_.insert_or_assign(std::string_view(id), Location{Location::Kind::kQueue, 0, *seq});
    queue_vectors_.emplace_back(&id, *seq);
    ++found;
  }
  figures_.recovered += found;
  return found;
}

Status VectorView::scan_segment(
    const std::function<Status(std::string_view id, const HnswSlot&)>& fn) const {
  if (!segment_ || entry_of_slot_.size() < segment_->slot_count()) return ok_status();  // no map
  return segment_->scan([&](const HnswSlot& slot) -> Status {
    const std::uint32_t e = entry_of_slot_[slot.index];
    if (e == kNoEntry || entries_[e].replaced) return ok_status();
    return fn(id_of(entries_[e]), slot);
  });
}

}  // namespace cm
