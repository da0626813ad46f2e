#include "common/store/id_hash_set.hpp"

namespace cm {
namespace {

// Grow past this load: linear probing stays short up to about 0.8 with well-mixed keys, and the
// keys are XXH3 output.
constexpr double kMaxLoad = 0.8;
constexpr std::size_t kMinSlots = 16;
__extension__ using U128 = unsigned __int128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet

}  // namespace

std::size_t IdHashSet::slot_of(const IdHash& h) const {
  // Multiply-shift maps the hash onto any table size, so reserve() need not round up to a power
  // of two (which could double the memory of a large set).
  return static_cast<std::size_t>((static_cast<U128>(h.low) * slots_.size()) >> 64);
}

void IdHashSet::reserve(std::size_t n) {
  const auto wanted = static_cast<std::size_t>(static_cast<double>(n) / kMaxLoad) + 1;
  if (wanted > slots_.size()) grow_to(std::max(wanted, kMinSlots));
}

void IdHashSet::grow_to(std::size_t slots) {
  std::vector<IdHash> old = std::move(slots_);
  slots_.assign(slots, IdHash{});
  for (const IdHash& h : old) {
    if (is_empty(h)) continue;
    std::size_t i = slot_of(h);
    while (!is_empty(slots_[i])) i = i + 1 == slots_.size() ? 0 : i + 1;
    slots_[i] = h;
  }
}

bool IdHashSet::insert(const IdHash& h) {
  if (is_empty(h)) {
    if (has_zero_) return false;
    has_zero_ = true;
    ++size_;
    return true;
  }
  if (static_cast<double>(size_ + 1) > kMaxLoad * static_cast<double>(slots_.size())) {
    grow_to(std::max(slots_.size() * 2, kMinSlots));
  }
  std::size_t i = slot_of(h);
  for (; !is_empty(slots_[i]); i = i + 1 == slots_.size() ? 0 : i + 1) {
    if (slots_[i] == h) return false;
  }
  slots_[i] = h;
  ++size_;
  return true;
}

bool IdHashSet::contains(const IdHash& h) const {
  if (is_empty(h)) return has_zero_;
  if (slots_.empty()) return false;
  for (std::size_t i = slot_of(h); !is_empty(slots_[i]); i = i + 1 == slots_.size() ? 0 : i + 1) {
    if (slots_[i] == h) return true;
  }
  return false;
}

void IdHashSet::clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = 0;
  has_zero_ = false;
}

}  // namespace cm
