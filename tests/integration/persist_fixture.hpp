// Shared pieces of the persist-directory integration tests: writing a corpus into a real Chroma
// 1.0.5 server while keeping a model of what each collection must hold, exporting a store, and
// comparing an offline read of the server's persist directory with both.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::testing {

// collection name -> id -> record: what a store holds, or what a test wrote.
using Contents = std::map<std::string, std::map<std::string, Record>>;

// The corpus (tools/corpus.hpp: four collections over cosine, l2 and ip, every metadata type,
// unicode, null documents) with uris on every third record, written in batches of 500 so that the
// server persists its HNSW segments at 1000 records and keeps the rest in embeddings_queue.
// `prefix` prefixes collection names. Returns the model of what was written.
Contents write_corpus(VectorStore& store, std::size_t records, int dimension,
                      const std::string& prefix);
// A WordNet-like lexicon (one record per word sense: "lemma (pos): gloss", metadata lemma, pos,
// sense, lexname, frequency, polysemous; random unit-free vectors of `dimension`) of `n` records
// in a new collection `name` with distance `space`, in batches of 500. Returns its model.
std::map<std::string, Record> write_lexicon(VectorStore& store, const std::string& name,
                                            const std::string& space, int dimension, std::size_t n);
// Upserts new versions of `n` records of each collection (a new vector, every metadata value
// changed, a new document), removes the "lang" key of `n` others (an update with a null value),
// deletes `n` more; applies the same to `model`.
void change_records(VectorStore& store, Contents& model, std::size_t n);

// Every collection, id and record of `store` (count and paged list_ids checked on the way).
Contents export_all(VectorStore& store);

struct Tolerance {
  // Per component of cosine collections' vectors, in float32 ulps (l2 and ip: exact).
  int cosine_vector_ulps = 0;
  // Per metadata float, in float64 ulps.
  int metadata_float_ulps = 0;
};
// Expects `actual` to hold exactly the collections, ids, documents, uris and metadata of
// `expected`, with vectors and metadata floats within `tolerance`. `spaces`: collection -> space.
// Returns how many cosine vectors were not bit-identical.
std::size_t expect_same_contents(const Contents& expected, const Contents& actual,
                                 const std::map<std::string, std::string>& spaces,
                                 Tolerance tolerance);

// POST /collections/{id}/add (operation "add" in the queue; the HTTP store only upserts) of
// `records` into the default database's collection `collection`; applied to `model`.
Status add_records(const ChromaServer& server, const CollectionInfo& collection,
                   const std::vector<Record>& records, Contents& model);

// Creates a tenant on the server (POST /api/v2/tenants).
Status create_tenant(const ChromaServer& server, const std::string& tenant);

// Rows of embeddings_queue past the vector segment's max_seq_id, per collection name, read from a
// copy of the persist directory's database (the directory itself is never opened with SQLite).
std::map<std::string, std::map<int, std::size_t>> queue_only_operations(
    const std::filesystem::path& persist_dir, const std::filesystem::path& scratch);

}  // namespace cm::testing
