// A set of completed batch indices, kept as sorted disjoint ranges so a checkpoint stays small
// even with thousands of batches that finish out of order across workers.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cm::ckpt {

class BatchSet {
 public:
  void insert(std::size_t index);
  bool contains(std::size_t index) const;
  std::size_t size() const { return size_; }
  // Ranges [first, last] inclusive, ascending.
  const std::map<std::size_t, std::size_t>& ranges() const { return ranges_; }

  nlohmann::json to_json() const;  // [[first,last], ...]
  static std::optional<BatchSet> from_json(const nlohmann::json& json, std::string* why);

  bool operator==(const BatchSet&) const = default;

 private:
  std::map<std::size_t, std::size_t> ranges_;  // first -> last
  std::size_t size_ = 0;
};

}  // namespace cm::ckpt
