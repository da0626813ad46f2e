// SnapshotStore::verify() and read_part() against damaged snapshots.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/unit/snapshot_test_util.hpp"

namespace cm {
namespace {

using namespace snapshot_test;  // NOLINT: test helpers

class SnapshotVerifyTest : public SnapshotStoreTest {
 protected:
  void SetUp() override {
    SnapshotStoreTest::SetUp();
    auto store = open_or_die(dir_, Mode::kWrite);
    auto c = create(*store, "alpha");
    upsert_in_batches(*store, c, make_records("a-", 50), 20);
    ASSERT_TRUE(store->flush());
    parts_ = store->manifest()->collections.front().parts;
    ASSERT_EQ(parts_.size(), 3u);
  }

  fs::path part_path(std::size_t i) const { return dir_ / "collections/alpha" / parts_[i].file; }

  VerifyReport verify() {
    auto store = SnapshotStore::open(dir_, Mode::kRead);
    EXPECT_TRUE(store) << store.error().message;
    auto report = (*store)->verify();
    EXPECT_TRUE(report) << report.error().message;
    return *report;
  }

  static bool has(const VerifyReport& report, const std::string& file_part,
                  const std::string& message_part) {
    return std::any_of(report.problems.begin(), report.problems.end(), [&](const auto& p) {
      return p.file.find(file_part) != std::string::npos &&
             p.message.find(message_part) != std::string::npos;
    });
  }

  void delete_part() { fs::remove(part_path(0)); }
  void modify_byte() {
    std::string bytes = *read_file(part_path(1));
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
    ASSERT_TRUE(write_file_atomic(part_path(1), bytes));
  }
  void add_extra_part() {
    fs::copy_file(part_path(2), dir_ / "collections/alpha/part-00000000000000ff.rec");
  }
  void change_manifest_count() {
    auto json = nlohmann::json::parse(*read_file(dir_ / "manifest.json"));
    json["collections"][0]["record_count"] = 49;
    ASSERT_TRUE(write_file_atomic(dir_ / "manifest.json", json.dump(2)));
  }

  std::vector<ManifestPart> parts_;
};

TEST_F(SnapshotVerifyTest, CleanSnapshotPasses) {
  auto report = verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records_checked, 50u);
}

TEST_F(SnapshotVerifyTest, ReportsDeletedPart) {
  delete_part();
  auto report = verify();
  EXPECT_TRUE(has(report, parts_[0].file, "missing"));
}

TEST_F(SnapshotVerifyTest, ReportsModifiedByte) {
  modify_byte();
  auto report = verify();
  EXPECT_TRUE(has(report, parts_[1].file, "xxh3_64"));
  EXPECT_TRUE(has(report, parts_[1].file, "record"));  // decode names the damaged record
}

TEST_F(SnapshotVerifyTest, ReportsExtraPart) {
  add_extra_part();
  auto report = verify();
  EXPECT_TRUE(has(report, "part-00000000000000ff.rec", "not listed"));
}

TEST_F(SnapshotVerifyTest, ReportsChangedManifestCount) {
  change_manifest_count();
  auto report = verify();
  EXPECT_TRUE(has(report, "collections/alpha", "record_count 49"));
}

TEST_F(SnapshotVerifyTest, ReportsEveryProblemAtOnce) {
  delete_part();
  modify_byte();
  add_extra_part();
  change_manifest_count();
  auto report = verify();
  EXPECT_TRUE(has(report, parts_[0].file, "missing"));
  EXPECT_TRUE(has(report, parts_[1].file, "xxh3_64"));
  EXPECT_TRUE(has(report, "part-00000000000000ff.rec", "not listed"));
  EXPECT_TRUE(has(report, "collections/alpha", "record_count 49"));
}

TEST_F(SnapshotVerifyTest, ReadPartRejectsDamage) {
  modify_byte();
  auto store = open_or_die(dir_, Mode::kRead);
  auto part = store->read_part("alpha", 1);
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(store->read_part("alpha", 0));
  // The vectors-only path skips record digests but not the file's XXH3-64.
  auto vectors = store->read_part_vectors("alpha", 1);
  ASSERT_FALSE(vectors);
  EXPECT_EQ(vectors.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(store->read_part_vectors("alpha", 0));
}

}  // namespace
}  // namespace cm
