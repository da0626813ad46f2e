// Shared helpers for the SnapshotStore unit tests (snapshot_store_test, snapshot_verify_test).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/snapshot/snapshot_store.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::snapshot_test {

namespace fs = std::filesystem;
using Mode = SnapshotStore::Mode;

inline Record make_record(const std::string& id, int version = 1, std::size_t dim = 8) {
  Record r;
  r.id = id;
  for (std::size_t i = 0; i < dim; ++i) {
    r.embedding.push_back(static_cast<float>(version) + static_cast<float>(i) * 0.25f);
  }
  r.document = id.size() % 3 == 0 ? std::nullopt : std::optional<std::string>("doc " + id);
  r.metadata = {{"version", std::int64_t{version}}, {"score", 0.5}, {"ok", true}};
  return r;
}

inline std::vector<Record> make_records(const std::string& prefix, std::size_t n, int version = 1) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_record(prefix + std::to_string(i), version));
  return out;
}

inline std::unique_ptr<SnapshotStore> open_or_die(const fs::path& dir, Mode mode) {
  auto store = SnapshotStore::open(dir, mode);
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

inline CollectionSpec spec(const std::string& name) {
  CollectionSpec out;  // member-wise: aggregate init with {} trips a GCC 12 false warning
  out.name = name;
  out.metadata = {{"k", std::string("v")}};
  return out;
}

inline CollectionInfo create(SnapshotStore& store, const std::string& name) {
  auto info = store.create_collection(spec(name));
  EXPECT_TRUE(info) << info.error().message;
  return info ? *info : CollectionInfo{};
}

inline void upsert_in_batches(SnapshotStore& store, const CollectionInfo& c,
                              const std::vector<Record>& records, std::size_t batch) {
  for (std::size_t i = 0; i < records.size(); i += batch) {
    const std::size_t n = std::min(batch, records.size() - i);
    auto status = store.upsert(c, std::span(records).subspan(i, n));
    ASSERT_TRUE(status) << status.error().message;
  }
}

inline std::vector<std::string> all_ids(SnapshotStore& store, const CollectionInfo& c,
                                        std::uint32_t page) {
  std::vector<std::string> out;
  for (std::uint64_t offset = 0;; offset += page) {
    auto ids = store.list_ids(c, offset, page);
    EXPECT_TRUE(ids) << ids.error().message;
    if (!ids) return out;
    out.insert(out.end(), ids->begin(), ids->end());
    if (ids->size() < page) return out;
  }
}

inline std::map<std::string, Record> by_id(const std::vector<Record>& records) {
  std::map<std::string, Record> out;
  for (const auto& r : records) out[r.id] = r;
  return out;
}

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("snapshot-store") / "snap"; }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }
  fs::path dir_;
};

}  // namespace cm::snapshot_test
