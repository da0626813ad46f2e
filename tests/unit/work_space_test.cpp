// Issue 10, item 12: the work dir's disk-space preflight (estimate and refusal with an injected
// "available bytes") and owner-only modes of what the run writes.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <filesystem>

#include "common/base/atomic_file.hpp"
#include "common/run/work_dir_lock.hpp"
#include "common/store/audit_log.hpp"
#include "migrate/space_check.hpp"
#include "tests/support/memory_store.hpp"

namespace cm::migrate {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("work_space_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Record record(const std::string& id, std::size_t dim, std::size_t doc_bytes) {
  Record r;
  r.id = id;
  r.embedding.assign(dim, 0.5f);
  r.document = std::string(doc_bytes, 'x');
  r.metadata["k"] = std::string(10, 'v');
  r.metadata["n"] = std::int64_t{7};
  return r;
}

TEST(WorkSpaceTest, RecordSizeGrowsWithEveryField) {
  const auto small = estimated_record_bytes(record("a", 8, 0));
  EXPECT_EQ(estimated_record_bytes(record("a", 16, 0)), small + 8 * sizeof(float));
  EXPECT_EQ(estimated_record_bytes(record("a", 8, 100)), small + 100);
  EXPECT_EQ(estimated_record_bytes(record("abcd", 8, 0)), small + 3);
  Record with_uri = record("a", 8, 0);
  with_uri.uri = std::string(40, 'u');
  EXPECT_EQ(estimated_record_bytes(with_uri), small + 4 + 40);
}

TEST(WorkSpaceTest, EstimateScalesTheSampleAverageToTheCount) {
  auto e = estimate_work_space({{.name = "a", .count = 1000, .sampled = 10, .sampled_bytes = 2000},
                                {.name = "b", .count = 0, .sampled = 0, .sampled_bytes = 0}},
                               false, {}, 1.5);
  EXPECT_EQ(e.records, 1000u);
  EXPECT_EQ(e.snapshot_bytes, 300000u);  // 1000 x 200 bytes x 1.5
  EXPECT_EQ(e.needed_bytes, 300000u);
  // A mapping writes the transformed copy too.
  e = estimate_work_space({{.name = "a", .count = 1000, .sampled = 10, .sampled_bytes = 2000}},
                          true, {}, 1.5);
  EXPECT_EQ(e.needed_bytes, 600000u);
  // Target collections the run replaces or merges into are backed up into the work dir too.
  e = estimate_work_space({{.name = "a", .count = 1000, .sampled = 10, .sampled_bytes = 2000}},
                          false,
                          {{.name = "a", .count = 500, .sampled = 10, .sampled_bytes = 1000}}, 1.5);
  EXPECT_EQ(e.backup_records, 500u);
  EXPECT_EQ(e.backup_bytes, 75000u);  // 500 x 100 bytes x 1.5
  EXPECT_EQ(e.needed_bytes, 375000u);
  // A collection without a sample counts at the run's average.
  e = estimate_work_space({{.name = "a", .count = 10, .sampled = 10, .sampled_bytes = 1000},
                           {.name = "b", .count = 10, .sampled = 0, .sampled_bytes = 0}},
                          false, {}, 1.0);
  EXPECT_EQ(e.needed_bytes, 2000u);
}

TEST(WorkSpaceTest, RefusesWithBothFiguresWhenItDoesNotFit) {
  const auto e = estimate_work_space(
      {{.name = "docs", .count = 1000000, .sampled = 100, .sampled_bytes = 200000}}, false,
      {{.name = "docs", .count = 10, .sampled = 10, .sampled_bytes = 1000}}, 1.5);
  ASSERT_EQ(e.needed_bytes, 3000001500u);
  EXPECT_TRUE(check_work_space(e, e.needed_bytes, "/w"));
  EXPECT_TRUE(check_work_space(e, e.needed_bytes * 2, "/w"));
  const auto refused = check_work_space(e, 1000000000, "/w");  // injected: 1 GB available
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);  // exit 8
  const auto& m = refused.error().message;
  EXPECT_NE(m.find("1000000000 bytes"), std::string::npos) << m;  // available
  EXPECT_NE(m.find("3000001500 bytes"), std::string::npos) << m;  // needed
  EXPECT_NE(m.find("docs: 1000000 records"), std::string::npos) << m;
  EXPECT_NE(m.find("plus a backup of 10 target records"), std::string::npos) << m;
  EXPECT_NE(m.find("backup of target docs: 10 records"), std::string::npos) << m;
  EXPECT_NE(m.find("nothing was written"), std::string::npos) << m;
}

TEST(WorkSpaceTest, SamplesTheFirstPageOfEachSourceCollection) {
  cm::testing::MemoryStore source;
  CollectionSpec big;
  big.name = "big";
  auto c = source.create_collection(big);
  ASSERT_TRUE(c);
  std::vector<Record> records;
  for (int i = 0; i < 250; ++i) records.push_back(record("id-" + std::to_string(1000 + i), 8, 50));
  ASSERT_TRUE(source.upsert(*c, records));
  CollectionSpec empty;
  empty.name = "empty";
  ASSERT_TRUE(source.create_collection(empty));
  source.reset_calls();
  auto samples = sample_collections(source, {"big", "empty", "absent"});
  ASSERT_TRUE(samples) << samples.error().message;
  const auto e = estimate_work_space(*samples, false);
  ASSERT_EQ(e.collections.size(), 2u);
  EXPECT_EQ(e.collections[0].count, 250u);
  EXPECT_EQ(e.collections[0].sampled, kSpaceSamplePage);
  EXPECT_EQ(e.collections[1].count, 0u);
  EXPECT_EQ(e.records, 250u);
  const auto per_record = estimated_record_bytes(records[0]);
  EXPECT_EQ(e.needed_bytes, static_cast<std::uint64_t>(std::ceil(
                                250.0 * static_cast<double>(per_record) * kSpaceSafetyFactor)));
  EXPECT_EQ(source.calls("get_records"), 1u);  // one page, not the collection
}

TEST(WorkSpaceTest, AvailableBytesOfADirThatDoesNotExistYet) {
  TempDir dir;
  auto available = available_bytes(dir.path() / "not" / "yet");
  ASSERT_TRUE(available) << available.error().message;
  EXPECT_GT(*available, 0u);
}

TEST(WorkSpaceTest, FilesAndDirectoriesAreOwnerOnlyWhateverTheUmask) {
  const mode_t old = ::umask(022);
  TempDir dir;
  ASSERT_TRUE(ensure_directory(dir.path() / "a" / "b"));
  EXPECT_EQ(mode_of(dir.path()), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "a" / "b"), 0700u);
  ASSERT_TRUE(write_file_atomic(dir.path() / "a" / "f.json", "{}"));
  EXPECT_EQ(mode_of(dir.path() / "a" / "f.json"), 0600u);
  auto writer = AtomicFileWriter::open(dir.path() / "a" / "big.bin");
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->append("x"));
  ASSERT_TRUE(writer->commit());
  EXPECT_EQ(mode_of(dir.path() / "a" / "big.bin"), 0600u);
  auto audit = AuditLog::open(dir.path() / "audit.jsonl", "run");
  ASSERT_TRUE(audit->append({{"op", "test"}}));
  EXPECT_EQ(mode_of(dir.path() / "audit.jsonl"), 0600u);
  {
    auto lock = WorkDirLock::acquire(dir.path(), "test");
    ASSERT_TRUE(lock);
    for (const auto& e : fs::directory_iterator(dir.path())) {
      if (e.is_regular_file()) {
        EXPECT_EQ(mode_of(e.path()) & 077, 0u) << e.path();
      }
    }
  }
  ::umask(old);
}

TEST(WorkSpaceTest, RestrictToOwnerTightensAnOperatorCreatedDir) {
  TempDir dir;
  fs::create_directories(dir.path());
  ::chmod(dir.path().c_str(), 0755);
  auto before = restrict_to_owner(dir.path());
  ASSERT_TRUE(before);
  ASSERT_TRUE(*before);
  EXPECT_EQ(static_cast<unsigned>(**before), 0755u);
  EXPECT_EQ(mode_of(dir.path()), 0700u);
  auto again = restrict_to_owner(dir.path());
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);  // already owner-only: left alone
}

}  // namespace
}  // namespace cm::migrate
