// A list of strings stored back to back in one buffer: each costs its length plus an 8-byte end
// offset, where a std::vector<std::string> costs 32 bytes per element plus a heap block for any
// string longer than 15 characters. For lists of a whole collection's ids (validation keeps one
// per collection while it searches for near duplicates). Append-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cm {

class PackedStrings {
 public:
  void reserve(std::size_t strings) { ends_.reserve(strings); }
  void push_back(std::string_view s) {
    bytes_.append(s);
    ends_.push_back(bytes_.size());
  }
  // Valid until the next push_back.
  std::string_view operator[](std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }
  std::size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }

 private:
  std::string bytes_;
  std::vector<std::size_t> ends_;
};

}  // namespace cm
