// A deterministic, realistic RAG corpus for the demo, the tests and the benchmark: chunks of
// documents spread over collections with different distance spaces, an old flat metadata schema
// with every Chroma value type (including ints beyond 2^53 and integral-valued floats), unicode,
// empty and null documents, records without metadata, and embeddings clustered by topic so that
// nearest-neighbour search is meaningful. Record i of collection c is a pure function of
// (seed, c, i): batches can be generated independently and re-generated for comparison.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/store/record.hpp"

namespace cm::corpus {

struct CorpusOptions {
  std::size_t total_records = 20000;  // split evenly over the collections
  std::size_t collections = 4;        // 1..4
  int dimension = 384;
  std::uint64_t seed = 42;
  std::string prefix;  // prepended to collection names (tests use it to isolate)
};

std::vector<CollectionSpec> collection_specs(const CorpusOptions& options);
std::size_t records_in(const CorpusOptions& options, std::size_t collection);
Record make_record(const CorpusOptions& options, std::size_t collection, std::size_t index);

}  // namespace cm::corpus
