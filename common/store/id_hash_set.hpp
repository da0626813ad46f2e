// Compact containers of record-id hashes (IdHash, 128 bits of XXH3: a collision is not a concern
// at any record count this suite meets).
//
// Why not std::unordered_set/map: a node-based table costs about 40 bytes per 16-byte hash (a
// 32-byte heap node plus a bucket pointer) and about 56 per (hash, u32) entry. Validation keeps
// several id sets of a whole collection at once, so at 1,000,000 records those nodes alone took
// the validator past its 256 MB bound. These containers hold the hashes in flat arrays:
//   - IdHashSet: open addressing for sets that grow while they are queried, 16 bytes per slot at
//     a load of 0.4 to 0.8 (20 bytes per id when reserved up front);
//   - IdHashTable<V>: a sorted array of (hash, value) for maps built once and then only looked
//     up, sizeof(entry) per id, several entries per hash allowed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/store/canonical.hpp"

namespace cm {

class IdHashSet {
 public:
  // Sizes the table for `n` ids without growing (a hint: more may be inserted).
  void reserve(std::size_t n);
  // True when `h` was not in the set.
  bool insert(const IdHash& h);
  bool contains(const IdHash& h) const;
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear();

 private:
  // The all-zero hash marks an empty slot; the id that hashes to it (if any) is kept aside.
  static bool is_empty(const IdHash& h) { return h.low == 0 && h.high == 0; }
  std::size_t slot_of(const IdHash& h) const;
  void grow_to(std::size_t slots);

  std::vector<IdHash> slots_;
  std::size_t size_ = 0;
  bool has_zero_ = false;
};

// A map from id hash to V, built by add() then seal(), and only read after that. add() after
// seal() needs another seal() before lookups.
template <class V>
class IdHashTable {
 public:
  using Entry = std::pair<IdHash, V>;

  void reserve(std::size_t n) { entries_.reserve(n); }
  void add(const IdHash& h, V value) { entries_.emplace_back(h, std::move(value)); }
  // Sorts by hash; entries with the same hash keep their insertion order.
  void seal() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return less(a.first, b.first); });
  }
  // Every entry with hash `h`, in insertion order (empty when none).
  std::span<const Entry> find(const IdHash& h) const { return range(h, entries_); }
  std::span<Entry> find(const IdHash& h) { return range(h, entries_); }
  const V* first(const IdHash& h) const {
    auto found = find(h);
    return found.empty() ? nullptr : &found.front().second;
  }
  bool contains(const IdHash& h) const { return !find(h).empty(); }
  std::size_t size() const { return entries_.size(); }
  std::span<const Entry> entries() const { return entries_; }
  std::span<Entry> entries() { return entries_; }
  // Keeps, of every run of entries with the same hash, only the one `better` prefers (better(a, b):
  // a is preferred over b). Requires seal().
  template <class Better>
  void keep_one_per_hash(Better better) {
    auto out = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto best = it, next = it + 1;
      for (; next != entries_.end() && next->first == it->first; ++next) {
        if (better(next->second, best->second)) best = next;
      }
      *out++ = std::move(*best);
      it = next;
    }
    entries_.erase(out, entries_.end());
    entries_.shrink_to_fit();
  }

 private:
  static bool less(const IdHash& a, const IdHash& b) {
    return a.high != b.high ? a.high < b.high : a.low < b.low;
  }
  template <class Vec>
  static auto range(const IdHash& h, Vec& entries) {
    auto lo =
        std::lower_bound(entries.begin(), entries.end(), h,
                         [](const Entry& e, const IdHash& key) { return less(e.first, key); });
    auto hi = lo;
    while (hi != entries.end() && hi->first == h) ++hi;
    using Elem = std::remove_reference_t<decltype(*lo)>;
    return std::span<Elem>(lo, hi);
  }

  std::vector<Entry> entries_;
};

}  // namespace cm
