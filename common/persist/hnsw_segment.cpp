#include "common/persist/hnsw_segment.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace cm {

class HnswSegment::File {
 public:
  static Result<std::shared_ptr<const File>> open(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return make_error(errno == ENOENT ? ErrorCode::kCorruption : ErrorCode::kIo,
                        path.string() + ": cannot open: " + std::strerror(errno));
    }
    auto file = std::shared_ptr<File>(new File(fd, path));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      return make_error(ErrorCode::kIo, path.string() + ": cannot stat: " + std::strerror(errno));
    }
    file->size_ = static_cast<std::uint64_t>(st.st_size);
    return std::shared_ptr<const File>(std::move(file));
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Exactly `n` bytes at `offset`; a short read (the file shrank since open) is kCorruption.
  Status read(std::uint64_t offset, std::size_t n, char* out) const {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        return make_error(ErrorCode::kIo, path_.string() + ": read failed at offset " +
                                              std::to_string(offset + done) + ": " +
                                              std::strerror(errno));
      }
      if (got == 0) {
        return make_error(ErrorCode::kCorruption,
                          path_.string() + ": ends at " + std::to_string(offset + done) +
                              " bytes, expected at least " + std::to_string(offset + n));
      }
      done += static_cast<std::size_t>(got);
    }
    return ok_status();
  }

 private:
  File(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
};

namespace {

constexpr std::uint64_t kMaxSlotBytes = std::uint64_t{1} << 26;  // 64 MiB: > 16M dimensions
constexpr std::uint64_t kMaxSlots = std::uint64_t{1} << 36;      // far beyond any real index
constexpr std::size_t kScanBlockBytes = std::size_t{4} << 20;    // per read during scans

template <typename T>
T load(std::string_view bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));  // little-endian host (x86-64, arm64)
  return value;
}

std::unexpected<Error> bad_header(const std::string& why) {
  return make_error(ErrorCode::kCorruption, why);
}

}  // namespace

Result<HnswHeader> parse_hnsw_header(std::string_view bytes) {
  static_assert(std::endian::native == std::endian::little, "the HNSW files are little-endian");
  if (bytes.size() != kHnswHeaderSize) {
    return bad_header("is " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(kHnswHeaderSize));
  }
  HnswHeader h;
  h.version = load<std::int32_t>(bytes, 0);
  h.offset_level0 = load<std::uint64_t>(bytes, 4);
  h.max_elements = load<std::uint64_t>(bytes, 12);
  h.cur_element_count = load<std::uint64_t>(bytes, 20);
  h.size_data_per_element = load<std::uint64_t>(bytes, 28);
  h.label_offset = load<std::uint64_t>(bytes, 36);
  h.offset_data = load<std::uint64_t>(bytes, 44);
  h.max_level = load<std::int32_t>(bytes, 52);
  h.enterpoint = load<std::uint32_t>(bytes, 56);
  h.max_m = load<std::uint64_t>(bytes, 60);
  h.max_m0 = load<std::uint64_t>(bytes, 68);
  h.m = load<std::uint64_t>(bytes, 76);
  h.mult = load<double>(bytes, 84);
  h.ef_construction = load<std::uint64_t>(bytes, 92);
  if (h.version != 1) {
    return bad_header("has persistence version " + std::to_string(h.version) + ", expected 1");
  }
  if (h.offset_level0 != 0) {
    return bad_header("has offsetLevel0 " + std::to_string(h.offset_level0) + ", expected 0");
  }
  if (h.max_m0 > kMaxSlotBytes / 4 || h.offset_data != 4 + 4 * h.max_m0) {
    return bad_header("has offsetData " + std::to_string(h.offset_data) + " for maxM0 " +
                      std::to_string(h.max_m0) + " (expected 4 + 4 * maxM0)");
  }
  if (h.size_data_per_element > kMaxSlotBytes || h.label_offset <= h.offset_data ||
      (h.label_offset - h.offset_data) % 4 != 0 || h.label_offset + 8 != h.size_data_per_element) {
    return bad_header("has an impossible slot layout: size_data_per_element " +
                      std::to_string(h.size_data_per_element) + ", offsetData " +
                      std::to_string(h.offset_data) + ", label_offset " +
                      std::to_string(h.label_offset));
  }
  if (h.cur_element_count > h.max_elements || h.max_elements > kMaxSlots) {
    return bad_header("counts " + std::to_string(h.cur_element_count) + " elements of at most " +
                      std::to_string(h.max_elements));
  }
  return h;
}

Result<std::optional<HnswSegment>> HnswSegment::open(const std::filesystem::path& folder,
                                                     std::optional<int> dimension,
                                                     bool with_lengths) {
  const auto header_path = folder / "header.bin";
  std::error_code ec;
  if (!std::filesystem::exists(header_path, ec)) return std::optional<HnswSegment>{};
  CM_ASSIGN_OR_RETURN(auto header_file, File::open(header_path));
  if (header_file->size() != kHnswHeaderSize) {
    return make_error(ErrorCode::kCorruption,
                      header_path.string() + ": is " + std::to_string(header_file->size()) +
                          " bytes, expected " + std::to_string(kHnswHeaderSize));
  }
  std::string bytes(kHnswHeaderSize, '\0');
  CM_RETURN_IF_ERROR(header_file->read(0, bytes.size(), bytes.data()));
  auto header = parse_hnsw_header(bytes);
  if (!header) return std::unexpected(std::move(header).error().with_context(header_path.string()));
  if (dimension && header->dimension() != static_cast<std::size_t>(*dimension)) {
    return make_error(ErrorCode::kCorruption,
                      header_path.string() + ": holds vectors of dimension " +
                          std::to_string(header->dimension()) + " but the collection's is " +
                          std::to_string(*dimension));
  }
  HnswSegment segment;
  segment.folder_ = folder;
  segment.header_ = *header;
  segment.readable_ = header->cur_element_count;
  CM_ASSIGN_OR_RETURN(segment.data_, File::open(folder / "data_level0.bin"));
  segment.limit_to(*segment.data_, header->size_data_per_element);
  if (with_lengths) {
    CM_ASSIGN_OR_RETURN(segment.lengths_, File::open(folder / "length.bin"));
    segment.limit_to(*segment.lengths_, 4);
  }
  return std::optional<HnswSegment>(std::move(segment));
}

void HnswSegment::limit_to(const File& file, std::uint64_t bytes_per_element) {
  const std::uint64_t whole = file.size() / bytes_per_element;
  if (whole >= readable_) return;
  readable_ = whole;
  truncation_ = file.path().string() + ": is truncated: " + std::to_string(file.size()) +
                " bytes hold " + std::to_string(whole) + " of the header's " +
                std::to_string(header_.cur_element_count) + " elements (" +
                std::to_string(bytes_per_element) + " bytes each)";
}

Result<std::vector<float>> HnswSegment::restore(const HnswSlot& slot) const {
  std::vector<float> v(slot.stored.begin(), slot.stored.end());
  if (!lengths_) return v;
  if (!std::isfinite(slot.norm) || slot.norm < 0) {
    return make_error(ErrorCode::kCorruption,
                      lengths_->path().string() + ": element " + std::to_string(slot.index) +
                          " has the impossible norm " + std::to_string(slot.norm));
  }
  for (float& x : v) x *= slot.norm;
  return v;
}

Result<std::vector<float>> HnswSegment::read_vector(std::uint64_t index) const {
  if (index >= slot_count()) {
    return make_error(ErrorCode::kInternal, "HNSW slot " + std::to_string(index) +
                                                " is beyond the segment's " +
                                                std::to_string(slot_count()));
  }
  const std::size_t dim = header_.dimension();
  std::vector<float> stored(dim);
  CM_RETURN_IF_ERROR(data_->read(index * header_.size_data_per_element + header_.offset_data,
                                 dim * sizeof(float), reinterpret_cast<char*>(stored.data())));
  HnswSlot slot{index, 0, false, stored, 1.0f};
  if (lengths_) {
    CM_RETURN_IF_ERROR(lengths_->read(index * 4, 4, reinterpret_cast<char*>(&slot.norm)));
  }
  return restore(slot);
}

Result<std::vector<std::vector<float>>> HnswSegment::read_vectors(
    std::span<const std::uint64_t> slots) const {
  const std::uint64_t slot_bytes = header_.size_data_per_element;
  const std::uint64_t per_block = std::max<std::uint64_t>(1, kScanBlockBytes / slot_bytes);
  std::vector<std::size_t> order(slots.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return slots[a] < slots[b]; });
  std::vector<std::vector<float>> out(slots.size());
  std::vector<char> block;
  std::vector<float> norms;
  const std::size_t dim = header_.dimension();
  std::vector<float> stored(dim);
  for (std::size_t run = 0; run < order.size();) {
    // A run: sorted slots within one block of the run's first slot.
    const std::uint64_t first = slots[order[run]];
    if (first >= slot_count()) {
      return make_error(ErrorCode::kInternal, "HNSW slot " + std::to_string(first) +
                                                  " is beyond the segment's " +
                                                  std::to_string(slot_count()));
    }
    std::size_t end = run + 1;
    while (end < order.size() && slots[order[end]] < slot_count() &&
           slots[order[end]] - first < per_block) {
      ++end;
    }
    const std::uint64_t n = slots[order[end - 1]] - first + 1;
    block.resize(n * slot_bytes);
    CM_RETURN_IF_ERROR(data_->read(first * slot_bytes, block.size(), block.data()));
    norms.assign(n, 1.0f);
    if (lengths_) {
      CM_RETURN_IF_ERROR(lengths_->read(first * 4, n * 4, reinterpret_cast<char*>(norms.data())));
    }
    for (std::size_t k = run; k < end; ++k) {
      const std::uint64_t at = slots[order[k]] - first;
      std::memcpy(stored.data(), block.data() + at * slot_bytes + header_.offset_data,
                  dim * sizeof(float));
      const HnswSlot slot{slots[order[k]], 0, false, stored, norms[at]};
      CM_ASSIGN_OR_RETURN(out[order[k]], restore(slot));
    }
    run = end;
  }
  return out;
}

Status HnswSegment::scan(const std::function<Status(const HnswSlot&)>& fn) const {
  const std::uint64_t slot_bytes = header_.size_data_per_element;
  const std::uint64_t per_block = std::max<std::uint64_t>(1, kScanBlockBytes / slot_bytes);
  const std::size_t dim = header_.dimension();
  std::vector<char> block;
  std::vector<float> norms;
  std::vector<float> stored(dim);
  for (std::uint64_t first = 0; first < slot_count(); first += per_block) {
    const std::uint64_t n = std::min(per_block, slot_count() - first);
    block.resize(n * slot_bytes);
    CM_RETURN_IF_ERROR(data_->read(first * slot_bytes, block.size(), block.data()));
    norms.assign(n, 1.0f);
    if (lengths_) {
      CM_RETURN_IF_ERROR(lengths_->read(first * 4, n * 4, reinterpret_cast<char*>(norms.data())));
    }
    for (std::uint64_t i = 0; i < n; ++i) {
      const char* base = block.data() + i * slot_bytes;
      HnswSlot slot;
      slot.index = first + i;
      std::memcpy(&slot.label, base + header_.label_offset, sizeof slot.label);
      slot.deleted = (static_cast<unsigned char>(base[header_.offset_level0 + 2]) & 1) != 0;
      std::memcpy(stored.data(), base + header_.offset_data, dim * sizeof(float));
      slot.stored = stored;
      slot.norm = norms[i];
      CM_RETURN_IF_ERROR(fn(slot));
    }
  }
  return ok_status();
}

}  // namespace cm
