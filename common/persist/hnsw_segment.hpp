// The files of a persisted HNSW segment (Chroma's fork of hnswlib, persistence version 1), read
// directly and bounds-checked, never through hnswlib (which trusts them and crashes on damage):
//
//   header.bin       100 bytes, little-endian, packed: i32 version, u64 offsetLevel0,
//                    u64 max_elements, u64 cur_element_count, u64 size_data_per_element,
//                    u64 label_offset, u64 offsetData, i32 maxlevel, u32 enterpoint, u64 maxM,
//                    u64 maxM0, u64 M, f64 mult, u64 ef_construction
//   data_level0.bin  max_elements slots of size_data_per_element bytes; slot i: u16 neighbour
//                    count, byte 2 bit 0 = deleted, neighbours; the vector (dim float32) at
//                    offsetData; the u64 label at label_offset. Only cur_element_count are used.
//   length.bin       one float32 per slot: the vector's norm before hnswlib normalised it
//                    (cosine only; the stored vector is v / (|v| + 1e-30), so v = stored * norm)
//   link_lists.bin   upper layers: not needed to read vectors, not read.
//
// A bad header or a missing file is a kCorruption error naming the file; a data_level0.bin or
// length.bin shorter than the header's element count is not: the elements wholly inside both files
// stay readable (an interrupted flush loses the tail, not the segment) and truncation() says why
// the rest is not.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/error.hpp"

namespace cm {

struct HnswHeader {
  std::int32_t version = 0;
  std::uint64_t offset_level0 = 0;
  std::uint64_t max_elements = 0;
  std::uint64_t cur_element_count = 0;
  std::uint64_t size_data_per_element = 0;
  std::uint64_t label_offset = 0;
  std::uint64_t offset_data = 0;
  std::int32_t max_level = 0;
  std::uint32_t enterpoint = 0;
  std::uint64_t max_m = 0;
  std::uint64_t max_m0 = 0;
  std::uint64_t m = 0;
  double mult = 0;
  std::uint64_t ef_construction = 0;

  // The vector dimension the layout implies: (label_offset - offset_data) / 4.
  std::size_t dimension() const { return (label_offset - offset_data) / 4; }
};

inline constexpr std::size_t kHnswHeaderSize = 100;

// Parses and checks header.bin's bytes: version 1, a slot layout hnswlib would have made
// (offsetLevel0 0, offsetData = 4 + 4 * maxM0, label right after the vector, 8-byte label at the
// end), cur_element_count <= max_elements, sizes that cannot overflow. The message names the
// field, not the file.
Result<HnswHeader> parse_hnsw_header(std::string_view bytes);

// One slot as a scan sees it. `stored` is the vector as hnswlib keeps it (normalised for
// cosine); `norm` is length.bin's value (1 when the segment has no lengths).
struct HnswSlot {
  std::uint64_t index = 0;
  std::uint64_t label = 0;
  bool deleted = false;
  std::span<const float> stored;
  float norm = 1;
};

class HnswSegment {
 public:
  // Opens the segment folder. nullopt when it holds no header.bin (Chroma had not persisted the
  // segment yet: every vector is still in embeddings_queue). `dimension`: the collection's, when
  // known, checked against the header. `with_lengths`: cosine collections, whose vectors are
  // restored from length.bin. Files shorter than cur_element_count slots are read up to the last
  // whole element (slot_count(), truncation()).
  static Result<std::optional<HnswSegment>> open(const std::filesystem::path& folder,
                                                 std::optional<int> dimension, bool with_lengths);

  const HnswHeader& header() const { return header_; }
  const std::filesystem::path& folder() const { return folder_; }
  // The elements that can be read: cur_element_count unless a file is truncated.
  std::uint64_t slot_count() const { return readable_; }
  // Empty when every element the header counts is readable; else which file is short and by how
  // much, naming the file.
  const std::string& truncation() const { return truncation_; }

  // Visits slots 0 .. slot_count()-1 in order, reading the files in blocks of a few MiB; stops at
  // the first error `fn` returns.
  Status scan(const std::function<Status(const HnswSlot&)>& fn) const;
  // The vector of slot `index` as the client sent it (cosine: stored * norm in float32, within
  // 2 ulp of the original; l2 and ip: the stored bytes). A norm that is negative or not finite is
  // kCorruption naming length.bin.
  Result<std::vector<float>> read_vector(std::uint64_t index) const;
  // read_vector for many slots at once, in the order given: slots close to each other are read
  // with one pread per run of at most a few MiB (a batch of an export is mostly consecutive
  // slots, and two reads per vector cost more than the copy).
  Result<std::vector<std::vector<float>>> read_vectors(std::span<const std::uint64_t> slots) const;
  // Restores one vector from its stored form (exposed for scans).
  Result<std::vector<float>> restore(const HnswSlot& slot) const;

 private:
  class File;  // an open descriptor, read with pread (thread-safe, no shared file position)
  HnswSegment() = default;
  // Lowers readable_ to the elements wholly inside `file` and says so in truncation_.
  void limit_to(const File& file, std::uint64_t bytes_per_element);

  std::filesystem::path folder_;
  HnswHeader header_;
  std::uint64_t readable_ = 0;
  std::string truncation_;
  std::shared_ptr<const File> data_;
  std::shared_ptr<const File> lengths_;  // null unless opened with_lengths
};

}  // namespace cm
