// New near-duplicate vectors within one collection. Every record's vector is kept (normalised,
// float32); records whose vector is not known to be as expected (an id the run did not bring, a
// vector that changed) are "suspects". A pair that is new must involve a suspect: two records whose
// vectors both came through intact were exactly as similar in the expected data. So the hnswlib
// index (inner product over normalised vectors: distance = 1 - cosine similarity) is built over the
// suspects only and queried with every record: a clean collection costs nothing beyond the copy,
// and a copied record is found next to its original at distance 0, which HNSW finds reliably.
// Memory: one normalised float32 copy of the collection's vectors (one collection at a time) plus
// the suspects' index.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/base/error.hpp"
#include "common/store/record.hpp"

namespace cm::validate {

class NearDuplicateIndex {
 public:
  struct Pair {
    std::string a, b;  // a < b
    double similarity = 0;
  };

  // `capacity` is a hint (the collection's size).
  NearDuplicateIndex(std::size_t dimension, std::size_t capacity);

  // Keeps the record's vector; one of another dimension, zero or non-finite is skipped (other
  // checks report it) and counted in skipped().
  void add(const Record& record, bool suspect);
  // Every pair of distinct records with similarity >= threshold that involves a suspect, each
  // once, at most `max_pairs`. Searches run on a few threads.
  Result<std::vector<Pair>> suspect_pairs(double threshold, std::size_t max_pairs) const;
  std::size_t size() const { return ids_.size(); }
  std::size_t suspects() const { return suspects_.size(); }
  std::size_t skipped() const { return skipped_; }

 private:
  std::vector<float> vectors_;  // size() x dimension_, normalised
  std::vector<std::string> ids_;
  std::vector<std::size_t> suspects_;  // indexes into ids_
  std::size_t dimension_;
  std::size_t skipped_ = 0;
};

// Cosine similarity of two vectors of equal length (0 when either is zero).
double cosine_similarity(std::span<const float> a, std::span<const float> b);

}  // namespace cm::validate
