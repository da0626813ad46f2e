// The VectorStore contract (common/store/vector_store.hpp) as a reusable, value-parameterised
// GoogleTest suite. Each parameter is a named factory that opens a store; a test binary
// instantiates the suite for the stores it can reach:
//
//   tests/unit/store_conformance_unit_test.cpp         snapshot directory, memory fake, and both
//                                                      through a decorator stack (no server); a
//                                                      sealed snapshot and a Chroma persist
//                                                      directory read-only
//   tests/integration/store_conformance_test.cpp       a real Chroma server, plain and decorated
//   tests/integration/persist_roundtrip_test.cpp       a persist directory the real server just
//                                                      wrote, read-only
//
//   INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance, ::testing::Values(StoreFactory{...}),
//                            store_factory_name);
//
// Two kinds of store: a writable one opens empty and every check writes what it then reads; a
// read-only one (StoreFactory::read_only) opens holding read_only_fixture(), which is exactly what
// the checks would have written, so the same reads run against it. In a read-only store every
// write must be refused (kInvalidArgument from the store itself, kInternal from the factory's
// read-only guard around a source): the checks that are about writing verify that refusal and
// stop there.
//
// The TEST_Ps live in tests/support/store_conformance_checks.cpp, which each instantiating test
// binary compiles in together with store_conformance.cpp (not test_support: a static library's
// unreferenced registrations would be dropped).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::testing {

struct StoreFactory {
  std::string name;  // the instantiation's suffix: letters, digits, '_'
  // Opens the store: empty, or holding read_only_fixture() when `read_only`. `unique` is
  // different for every test and parameter (usable as a database name); `dir` is a fresh
  // temporary directory, removed after the test.
  std::function<Result<std::unique_ptr<VectorStore>>(const std::string& unique,
                                                     const std::filesystem::path& dir)>
      open;
  bool read_only = false;
};

std::string store_factory_name(const ::testing::TestParamInfo<StoreFactory>& info);

// One collection of the read-only fixture: created from `spec`, then `records` upserted in one
// batch.
struct FixtureCollection {
  CollectionSpec spec;
  std::vector<Record> records;
};
// Every collection the checks read, with the records they would write (names as the checks use
// them). Some set a small sync_threshold so that a Chroma server persists their vectors in HNSW
// files; the others stay small enough to live in the write-ahead queue only.
std::vector<FixtureCollection> read_only_fixture();
// Writes read_only_fixture() into a writable store (how a read-only store's fixture is made).
Status write_read_only_fixture(VectorStore& store);

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  bool read_only() const { return GetParam().read_only; }
  // Writable stores: creates the collection (metadata {team: search, v: 2}, ef_construction 150).
  // Read-only stores: checks that creating it is refused and returns the fixture's.
  CollectionInfo create(const std::string& name, const std::string& space = "l2");
  // Writable stores: upserts and flushes. Read-only stores: checks the upsert is refused (the
  // fixture already holds these records).
  void put(const CollectionInfo& c, std::span<const Record> records);
  // Read-only stores: expects `status` to be the refusal of a write and returns true (the check
  // ends there). Writable stores: expects success and returns false.
  bool ends_with_refusal(const Status& status);

  static std::vector<Record> records(int n, float salt = 0);
  // Records id-0 .. id-<expected - 1> of `c`, sorted by id.
  std::vector<Record> all(const CollectionInfo& c, int expected);

  std::filesystem::path dir_;
  std::unique_ptr<VectorStore> store_;
};

// Data shared by the checks and the fixture.
std::vector<Record> conformance_records(int n, float salt = 0);  // id-0 ..: every metadata type
CollectionSpec conformance_spec(const std::string& name, const std::string& space);
std::vector<Record> uri_records();         // "uris": six records, four with uris
CollectionSpec embedding_function_spec();  // "efconf": cosine, ef_search 64, an embedding fn
std::vector<Record> query_records();       // "query_<space>": 60 random 8-dim records

}  // namespace cm::testing
