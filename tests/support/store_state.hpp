// Whole-store snapshots for assertions: every collection's configuration, metadata, count and
// records (sorted by id; uris included), compared exactly (metadata types included), embeddings
// under the collection's rule: bitwise for l2/ip, within float32 rounding for cosine
// (embedding_compare.hpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::testing {

struct CollectionState {
  CollectionInfo info;
  std::uint64_t count = 0;
  std::vector<Record> records;  // sorted by id
};

using StoreState = std::map<std::string, CollectionState>;

// Reads every collection (or only `names`) completely: ids scanned, records fetched by id.
Result<StoreState> capture_state(VectorStore& store, const std::vector<std::string>& names = {});

// Human-readable differences (empty when equal): collections, hnsw config, the whole configuration
// (configuration_differences: embedding_function and all), collection metadata,
// counts, and the first few differing records. With `ignore_ledger_keys` the run-ledger keys
// (migration_*) are left out of the collection-metadata comparison on both sides; pass false to
// prove a collection is exactly as before a run (e.g. after a rollback).
std::vector<std::string> diff_states(const StoreState& expected, const StoreState& actual,
                                     bool ignore_ledger_keys = true);
// The same, one difference per line: "" when equal, so EXPECT_EQ(diff_text(a, b), "") prints them.
std::string diff_text(const StoreState& expected, const StoreState& actual,
                      bool ignore_ledger_keys = true);

}  // namespace cm::testing
