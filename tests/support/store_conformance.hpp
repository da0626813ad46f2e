// The VectorStore contract (common/store/vector_store.hpp) as a reusable, value-parameterised
// GoogleTest suite. Each parameter is a named factory that opens an empty store; a test binary
// instantiates the suite for the stores it can reach:
//
//   tests/unit/store_conformance_unit_test.cpp         snapshot directory, memory fake, and both
//                                                      through a decorator stack (no server)
//   tests/integration/store_conformance_test.cpp       a real Chroma server, plain and decorated
//
//   INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance, ::testing::Values(StoreFactory{...}),
//                            store_factory_name);
//
// The TEST_Ps live in tests/support/store_conformance.cpp, which each instantiating test binary
// compiles in (not test_support: a static library's unreferenced registrations would be dropped).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/store/vector_store.hpp"

namespace cm::testing {

struct StoreFactory {
  std::string name;  // the instantiation's suffix: letters, digits, '_'
  // Opens an empty store. `unique` is different for every test and parameter (usable as a
  // database name); `dir` is a fresh temporary directory, removed after the test.
  std::function<Result<std::unique_ptr<VectorStore>>(const std::string& unique,
                                                     const std::filesystem::path& dir)>
      open;
};

std::string store_factory_name(const ::testing::TestParamInfo<StoreFactory>& info);

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  CollectionInfo create(const std::string& name, const std::string& space = "l2");
  static std::vector<Record> records(int n, float salt = 0);
  // Records id-0 .. id-<expected - 1> of `c`, sorted by id.
  std::vector<Record> all(const CollectionInfo& c, int expected);

  std::filesystem::path dir_;
  std::unique_ptr<VectorStore> store_;
};

}  // namespace cm::testing
