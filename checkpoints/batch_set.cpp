#include "checkpoints/batch_set.hpp"

#include <iterator>

namespace cm::ckpt {

bool BatchSet::contains(std::size_t index) const {
  auto it = ranges_.upper_bound(index);
  if (it == ranges_.begin()) return false;
  --it;
  return index <= it->second;
}

void BatchSet::insert(std::size_t index) {
  if (contains(index)) return;
  ++size_;
  auto next = ranges_.upper_bound(index);
  bool joins_prev = false;
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second + 1 == index) {
      prev->second = index;
      joins_prev = true;
      if (next != ranges_.end() && next->first == index + 1) {
        prev->second = next->second;
        ranges_.erase(next);
      }
    }
  }
  if (joins_prev) return;
  if (next != ranges_.end() && next->first == index + 1) {
    std::size_t last = next->second;
    ranges_.erase(next);
    ranges_.emplace(index, last);
  } else {
    ranges_.emplace(index, index);
  }
}

nlohmann::json BatchSet::to_json() const {
  auto out = nlohmann::json::array();
  for (const auto& [first, last] : ranges_) out.push_back({first, last});
  return out;
}

std::optional<BatchSet> BatchSet::from_json(const nlohmann::json& json, std::string* why) {
  BatchSet set;
  if (!json.is_array()) {
    *why = "batch set must be an array of [first,last] pairs";
    return std::nullopt;
  }
  for (const auto& range : json) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
        !range[1].is_number_unsigned() ||
        range[0].get<std::size_t>() > range[1].get<std::size_t>()) {
      *why = "bad batch range " + range.dump();
      return std::nullopt;
    }
    for (auto i = range[0].get<std::size_t>(); i <= range[1].get<std::size_t>(); ++i) set.insert(i);
  }
  return set;
}

}  // namespace cm::ckpt
