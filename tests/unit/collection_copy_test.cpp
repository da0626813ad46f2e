// Whole-collection copies (common/run/collection_copy.hpp) between the memory fake and a snapshot
// directory: a backup copies every record with the collection's identity and the result seals and
// verifies; a partial earlier copy is started over; a collection that changes while it is copied
// is refused; a restore splits parts to the target's batch limit, skips parts already done,
// reports each part only after the target took it, and stops at a failure.
#include "common/run/collection_copy.hpp"
#include "common/run/store_factory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "tests/support/chroma_server.hpp"
#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
using testing::MemoryStore;

std::vector<Record> make_records(std::size_t n) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < n; ++i) {
    Record r;
    r.id = "rec-" + std::to_string(i);
    r.embedding = {static_cast<float>(i), 0.25f, -static_cast<float>(i) / 3.0f};
    if (i % 2 == 0) r.document = "document " + std::to_string(i);
    r.metadata = {{"i", std::int64_t(i)}, {"even", i % 2 == 0}, {"w", 0.5 * double(i)}};
    out.push_back(std::move(r));
  }
  return out;
}

class CollectionCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("collection-copy");
    CollectionSpec spec;
    spec.name = "docs";
    spec.metadata = {{"owner", std::string("search")}, {"migration_run_id", std::string("r1")}};
    spec.hnsw.space = "cosine";
    spec.hnsw.max_neighbors = 32;
    live_ = *live_store_.create_collection(spec);
    records_ = make_records(50);
    ASSERT_TRUE(live_store_.upsert(live_, records_));
    live_ = **live_store_.find_collection("docs");  // with its dimension
    live_store_.reset_calls();
    auto snap = open_work_snapshot(dir_ / "backup", SnapshotStore::Mode::kWrite, {});
    ASSERT_TRUE(snap) << snap.error().message;
    snap_ = std::move(*snap);
  }
  void TearDown() override {
    snap_ = {};
    fs::remove_all(dir_);
  }
  CopyToSnapshotOptions options(std::size_t batch = 7, std::size_t workers = 3) {
    CopyToSnapshotOptions o;
    o.batch_size = batch;
    o.workers = workers;
    o.scan_file = dir_ / "scans" / "docs.ids";
    return o;
  }
  static std::vector<Record> sorted(std::vector<Record> rs) {
    std::sort(rs.begin(), rs.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
    return rs;
  }
  std::vector<Record> snapshot_records(const std::string& name) {
    auto info = snap_.snapshot->find_collection(name);
    EXPECT_TRUE(info && *info);
    std::vector<std::string> ids;
    for (const auto& r : records_) ids.push_back(r.id);
    auto got = snap_.snapshot->get_records(**info, ids);
    EXPECT_TRUE(got) << got.error().message;
    return got ? sorted(*got) : std::vector<Record>{};
  }

  fs::path dir_;
  MemoryStore live_store_{"live"};
  CollectionInfo live_;
  std::vector<Record> records_;
  WorkSnapshot snap_;  // the copy target, opened through the factory as migrate does
};

TEST_F(CollectionCopyTest, CopiesEveryRecordAndTheCollectionsIdentityIntoASnapshot) {
  auto copied = copy_collection_to_snapshot(live_store_, live_, snap_, options());
  ASSERT_TRUE(copied) << copied.error().message;
  EXPECT_EQ(*copied, 50u);
  EXPECT_EQ(live_store_.calls("get_records"), 8u);  // ceil(50 / 7) batches, each fetched once
  EXPECT_EQ(live_store_.writes(), 0u);              // the live side is only read
  ASSERT_TRUE(snap_.snapshot->flush());
  auto report = snap_.snapshot->verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->problem_lines();
  EXPECT_EQ(report->records_checked, 50u);
  auto info = snap_.snapshot->find_collection("docs");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->id, live_.id);
  EXPECT_EQ((*info)->metadata, live_.metadata);
  EXPECT_EQ((*info)->hnsw, live_.hnsw);
  EXPECT_EQ((*info)->dimension, 3);
  EXPECT_EQ(snapshot_records("docs"), sorted(records_));
}

TEST_F(CollectionCopyTest, APartialEarlierCopyIsStartedOver) {
  // A crashed backup left a copy with a stale record and a record the live collection lacks.
  auto partial = snap_.snapshot->create_collection_from(live_);
  ASSERT_TRUE(partial);
  auto stale = make_records(3);
  stale[0].document = "stale";
  stale.push_back({"not-in-live", {1.0f, 1.0f, 1.0f}, std::nullopt, {}});
  ASSERT_TRUE(snap_.snapshot->upsert(*partial, stale));
  auto copied = copy_collection_to_snapshot(live_store_, live_, snap_, options(10, 2));
  ASSERT_TRUE(copied) << copied.error().message;
  ASSERT_TRUE(snap_.snapshot->flush());
  auto info = snap_.snapshot->find_collection("docs");
  ASSERT_TRUE(info && *info);
  EXPECT_EQ(*snap_.snapshot->count(**info), 50u);
  EXPECT_EQ(snapshot_records("docs"), sorted(records_));
}

TEST_F(CollectionCopyTest, ACollectionThatLosesRecordsDuringTheCopyIsRefused) {
  live_store_.set_hook([&](std::string_view op, std::uint64_t n) {
    if (op == "get_records" && n == 1) {
      std::vector<std::string> gone{"rec-45"};  // in the last batch, not yet fetched
      ASSERT_TRUE(live_store_.delete_records(live_, gone));
    }
  });
  auto copied = copy_collection_to_snapshot(live_store_, live_, snap_, options(7, 1));
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code, ErrorCode::kVerifyFailed);
  EXPECT_NE(copied.error().message.find("1 record(s) vanished"), std::string::npos)
      << copied.error().message;
}

TEST_F(CollectionCopyTest, AReadFailureStopsTheCopyWithTheStoresError) {
  live_store_.fail("get_records", {ErrorCode::kTransient, "timeout"}, 2);
  auto copied = copy_collection_to_snapshot(live_store_, live_, snap_, options(7, 1));
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code, ErrorCode::kTransient);
  EXPECT_NE(copied.error().message.find("timeout"), std::string::npos);
}

class RestoreTest : public CollectionCopyTest {
 protected:
  void SetUp() override {
    CollectionCopyTest::SetUp();
    ASSERT_TRUE(copy_collection_to_snapshot(live_store_, live_, snap_, options(7, 2)));
    ASSERT_TRUE(snap_.snapshot->flush());
    auto target = target_store_.create_collection({"docs", live_.metadata, live_.hnsw, {}});
    ASSERT_TRUE(target);
    target_ = *target;
  }
  // A target that takes at most 4 records per upsert: 7-record parts must be split.
  MemoryStore target_store_{"target", StoreLimits{4, false}};
  CollectionInfo target_;
};

TEST_F(RestoreTest, UpsertsEveryPartSplitToTheTargetsLimitAndReportsEachPart) {
  auto parts = snap_.snapshot->part_count("docs");
  ASSERT_TRUE(parts);
  ASSERT_EQ(*parts, 8u);
  std::mutex mu;
  std::multiset<std::size_t> reported;
  std::size_t reported_records = 0;
  UpsertFromSnapshotOptions o;
  o.max_batch = 4;
  o.workers = 3;
  o.completed = [&](std::size_t part, std::size_t records) {
    std::lock_guard lock(mu);
    reported.insert(part);
    reported_records += records;
    return ok_status();
  };
  auto sent = upsert_from_snapshot(*snap_.snapshot, "docs", target_store_, target_, o);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, 50u);
  EXPECT_EQ(reported, (std::multiset<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(reported_records, 50u);
  EXPECT_EQ(target_store_.records_of("docs"), sorted(records_));
}

TEST_F(RestoreTest, SkipsPartsAlreadyDoneAndStopsAtAFailureWithoutReportingIt) {
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 8; ++i) sizes.push_back(snap_.snapshot->read_part("docs", i)->size());
  auto upserts_of = [&](std::size_t part) { return (sizes[part] + 3) / 4; };
  UpsertFromSnapshotOptions o;
  o.max_batch = 4;
  o.workers = 1;
  std::vector<std::size_t> reported;
  o.already_done = [](std::size_t part) { return part < 2; };
  o.completed = [&](std::size_t part, std::size_t records) {
    EXPECT_EQ(records, sizes[part]);
    reported.push_back(part);
    return ok_status();
  };
  // Parts 0 and 1 are skipped; the last upsert of part 3 fails.
  const auto failing = upserts_of(2) + upserts_of(3);
  target_store_.fail("upsert", {ErrorCode::kRejected, "quota exceeded", 400}, failing);
  auto sent = upsert_from_snapshot(*snap_.snapshot, "docs", target_store_, target_, o);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kRejected);
  EXPECT_EQ(reported, (std::vector<std::size_t>{2}));  // part 3 failed: not reported
  EXPECT_EQ(target_store_.calls("upsert"), failing);   // nothing after the failure
  // A resume that skips 0-2 finishes the rest; parts 0 and 1 were never sent by this test.
  target_store_.clear_failures();
  reported.clear();
  o.already_done = [](std::size_t part) { return part < 3; };
  sent = upsert_from_snapshot(*snap_.snapshot, "docs", target_store_, target_, o);
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(*sent, 50u - sizes[0] - sizes[1] - sizes[2]);
  EXPECT_EQ(reported, (std::vector<std::size_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(target_store_.records_of("docs").size(), 50u - sizes[0] - sizes[1]);
}

}  // namespace
}  // namespace cm
