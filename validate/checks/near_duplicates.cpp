#include "validate/checks/near_duplicates.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/atomic_file.hpp"
#include "validate/hnsw_index.hpp"

namespace cm::validate {
namespace {

constexpr std::size_t kM = 16;
constexpr std::size_t kEfConstruction = 100;
constexpr std::size_t kEfSearch = 64;
// Floats buffered before a write, and read back per chunk (4 MiB).
constexpr std::size_t kSpillFloats = std::size_t{1} << 20;
constexpr std::size_t kNeighbours =
    4;  // self plus a few: enough to see a copy next to its original

std::size_t thread_count() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
}

// Runs f(i) for i in [0, n) on a few threads; the first failure stops each thread's loop and is
// returned.
template <typename F>
Status parallel_for(std::size_t n, F&& f) {
  std::mutex mu;
  Status first = ok_status();
  std::vector<std::thread> threads;
  const std::size_t workers = std::min(thread_count(), std::max<std::size_t>(n, 1));
  for (std::size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (std::size_t i = w; i < n; i += workers) {
        if (Status s = f(i); !s) {
          std::lock_guard lock(mu);
          if (first) first = std::move(s);
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first;
}

}  // namespace

double cosine_similarity(std::span<const float> a, std::span<const float> b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

NearDuplicateIndex::NearDuplicateIndex(std::size_t dimension, std::size_t capacity,
                                       std::filesystem::path scratch_dir)
    : scratch_dir_(std::move(scratch_dir)), dimension_(dimension) {
  ids_.reserve(capacity);
}

NearDuplicateIndex::~NearDuplicateIndex() {
  if (fd_ >= 0) ::close(fd_);
}

Status NearDuplicateIndex::spill(std::span<const float> raw, double scale) {
  if (fd_ < 0) {
    CM_RETURN_IF_ERROR(ensure_directory(scratch_dir_));
    std::string name = (scratch_dir_ / "near-duplicates-XXXXXX").string();
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0) {
      return make_error(ErrorCode::kIo, "cannot create a scratch file under " +
                                            scratch_dir_.string() + ": " + std::strerror(errno));
    }
    ::unlink(name.c_str());  // gone with the descriptor, even after a crash
  }
  for (float x : raw) pending_.push_back(static_cast<float>(x * scale));
  return pending_.size() >= kSpillFloats ? flush() : ok_status();
}

Status NearDuplicateIndex::flush() {
  const auto* bytes = reinterpret_cast<const char*>(pending_.data());
  std::size_t left = pending_.size() * sizeof(float);
  while (left > 0) {
    const ssize_t n = ::write(fd_, bytes, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(ErrorCode::kIo, std::string("writing the near-duplicate scratch file: ") +
                                            std::strerror(errno));
    }
    bytes += n;
    left -= static_cast<std::size_t>(n);
  }
  pending_.clear();
  return ok_status();
}

Status NearDuplicateIndex::read_back(
    const std::function<Status(std::size_t, std::span<const float>)>& f) const {
  const std::size_t per_chunk = std::max<std::size_t>(1, kSpillFloats / dimension_);
  std::vector<float> chunk(per_chunk * dimension_);
  for (std::size_t first = 0; first < ids_.size(); first += per_chunk) {
    const std::size_t records = std::min(per_chunk, ids_.size() - first);
    const std::size_t bytes = records * dimension_ * sizeof(float);
    std::size_t done = 0;
    while (done < bytes) {
      const ssize_t n = ::pread(fd_, reinterpret_cast<char*>(chunk.data()) + done, bytes - done,
                                static_cast<off_t>(first * dimension_ * sizeof(float) + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return make_error(ErrorCode::kIo, std::string("reading the near-duplicate scratch file: ") +
                                              (n == 0 ? "short file" : std::strerror(errno)));
      }
      done += static_cast<std::size_t>(n);
    }
    CM_RETURN_IF_ERROR(f(first, std::span<const float>(chunk.data(), records * dimension_)));
  }
  return ok_status();
}

void NearDuplicateIndex::add(const Record& r, bool suspect) {
  double norm = 0;
  bool usable = r.embedding.size() == dimension_;
  for (std::size_t i = 0; usable && i < dimension_; ++i) {
    usable = std::isfinite(r.embedding[i]);
    norm += double{r.embedding[i]} * r.embedding[i];
  }
  if (!usable || norm <= 0) {
    ++skipped_;
    return;
  }
  if (!spill_status_) return;  // reported by suspect_pairs
  const double scale = 1.0 / std::sqrt(norm);
  spill_status_ = spill(r.embedding, scale);
  if (suspect) suspects_.push_back(ids_.size());
  ids_.push_back(r.id);
}

Result<std::vector<NearDuplicateIndex::Pair>> NearDuplicateIndex::suspect_pairs(
    double threshold, std::size_t max_pairs) {
  std::vector<Pair> out;
  if (suspects_.empty()) return out;
  CM_RETURN_IF_ERROR(spill_status_);
  CM_RETURN_IF_ERROR(flush());
  CM_ASSIGN_OR_RETURN(auto index, HnswIndex::create(HnswIndex::Metric::kInnerProduct, dimension_,
                                                    suspects_.size(), kM, kEfConstruction));
  // Label = the suspect's index into ids_, so answers name records directly. suspects_ is in
  // record order, so one sequential pass finds them all.
  std::size_t next = 0;
  CM_RETURN_IF_ERROR(read_back([&](std::size_t first, std::span<const float> vectors) -> Status {
    const std::size_t records = vectors.size() / dimension_;
    for (; next < suspects_.size() && suspects_[next] < first + records; ++next) {
      CM_RETURN_IF_ERROR(
          index->add(vectors.data() + (suspects_[next] - first) * dimension_, suspects_[next]));
    }
    return ok_status();
  }));
  const std::size_t k = std::min(kNeighbours, suspects_.size());
  index->set_ef(kEfSearch);
  std::mutex mu;
  std::map<std::pair<std::size_t, std::size_t>, double> pairs;
  CM_RETURN_IF_ERROR(read_back([&](std::size_t first, std::span<const float> vectors) -> Status {
    return parallel_for(vectors.size() / dimension_, [&](std::size_t i) -> Status {
      const std::size_t record = first + i;
      CM_ASSIGN_OR_RETURN(auto found, index->search(vectors.data() + i * dimension_, k));
      for (const auto& [other, distance] : found) {
        const double sim = 1.0 - static_cast<double>(distance);
        if (other == record || sim < threshold) continue;
        std::lock_guard lock(mu);
        if (pairs.size() < max_pairs) pairs.emplace(std::minmax<std::size_t>(record, other), sim);
      }
      return ok_status();
    });
  }));
  for (const auto& [p, sim] : pairs) {
    std::string_view a = ids_[p.first], b = ids_[p.second];
    if (b < a) std::swap(a, b);
    out.push_back({std::string(a), std::string(b), sim});
  }
  return out;
}

}  // namespace cm::validate
