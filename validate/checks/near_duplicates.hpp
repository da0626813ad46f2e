// New near-duplicate vectors within one collection. Every record's vector is kept (normalised,
// float32); records whose vector is not known to be as expected (an id the run did not bring, a
// vector that changed) are "suspects". A pair that is new must involve a suspect: two records whose
// vectors both came through intact were exactly as similar in the expected data. So the hnswlib
// index (inner product over normalised vectors: distance = 1 - cosine similarity) is built over the
// suspects only and queried with every record: a clean collection costs nothing beyond the copy,
// and a copied record is found next to its original at distance 0, which HNSW finds reliably.
// Memory: the ids (packed: their length plus 8 bytes each) and the suspects' index. The normalised
// vectors go to an unlinked scratch file (in the work dir's tmp/, so on disk, not in memory: 460 MB
// at 300,000 x 384 would be), read back sequentially twice when there are suspects: once to index
// them, once to query with every record.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/base/packed_strings.hpp"
#include "common/store/record.hpp"

namespace cm::validate {

class NearDuplicateIndex {
 public:
  struct Pair {
    std::string a, b;  // a < b
    double similarity = 0;
  };

  // `capacity` is a hint (the collection's size); the spill file is made under `scratch_dir`
  // (created if missing) at the first add.
  NearDuplicateIndex(std::size_t dimension, std::size_t capacity,
                     std::filesystem::path scratch_dir);
  ~NearDuplicateIndex();
  NearDuplicateIndex(const NearDuplicateIndex&) = delete;
  NearDuplicateIndex& operator=(const NearDuplicateIndex&) = delete;

  // Keeps the record's vector; one of another dimension, zero or non-finite is skipped (other
  // checks report it) and counted in skipped().
  void add(const Record& record, bool suspect);
  // Every pair of distinct records with similarity >= threshold that involves a suspect, each
  // once, at most `max_pairs`. Searches run on a few threads. Fails with kIo when the spill file
  // could not be written or read.
  Result<std::vector<Pair>> suspect_pairs(double threshold, std::size_t max_pairs);
  std::size_t size() const { return ids_.size(); }
  std::size_t suspects() const { return suspects_.size(); }
  std::size_t skipped() const { return skipped_; }

 private:
  // Appends `raw` * `scale` (the normalised vector) to the spill file.
  Status spill(std::span<const float> raw, double scale);
  Status flush();
  // Calls f(first record, vectors) for consecutive chunks of the spilled vectors.
  Status read_back(const std::function<Status(std::size_t, std::span<const float>)>& f) const;

  std::filesystem::path scratch_dir_;
  int fd_ = -1;                 // the unlinked spill file
  std::vector<float> pending_;  // vectors not yet written
  Status spill_status_ = ok_status();
  PackedStrings ids_;
  std::vector<std::size_t> suspects_;  // indexes into ids_
  std::size_t dimension_;
  std::size_t skipped_ = 0;
};

// Cosine similarity of two vectors of equal length (0 when either is zero).
double cosine_similarity(std::span<const float> a, std::span<const float> b);

}  // namespace cm::validate
