#include "common/snapshot/snapshot_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <tuple>

#include "common/base/atomic_file.hpp"
#include "common/snapshot/snapshot_layout.hpp"
#include "tests/unit/snapshot_test_util.hpp"

namespace cm {
namespace {

using namespace snapshot_test;  // NOLINT: test helpers

TEST_F(SnapshotStoreTest, WriteSealReopenReadRoundTrip) {
  const auto alpha_records = make_records("a-", 2500);
  const auto beta_records = make_records("b-", 1200, 2);
  {
    auto store = open_or_die(dir_, Mode::kWrite);
    auto alpha = create(*store, "alpha");
    auto beta = create(*store, "beta");
    create(*store, "empty-one");
    upsert_in_batches(*store, alpha, alpha_records, 1000);
    upsert_in_batches(*store, beta, beta_records, 500);
    store->set_description("test export");
    ASSERT_TRUE(store->flush());
    EXPECT_TRUE(store->sealed());
  }
  auto store = open_or_die(dir_, Mode::kRead);
  ASSERT_TRUE(store);
  auto collections = store->list_collections();
  ASSERT_TRUE(collections);
  ASSERT_EQ(collections->size(), 3u);
  EXPECT_EQ(store->manifest()->description, "test export");

  for (const auto& [name, records, parts] :
       {std::tuple{"alpha", alpha_records, 3u}, std::tuple{"beta", beta_records, 3u}}) {
    auto info = store->find_collection(name);
    ASSERT_TRUE(info && *info);
    EXPECT_EQ((*info)->dimension, 8);
    EXPECT_EQ(std::get<std::string>((*info)->metadata.at("k")), "v");
    EXPECT_EQ(*store->count(**info), records.size());
    const auto expected = by_id(records);
    auto ids = all_ids(*store, **info, 333);
    ASSERT_EQ(ids.size(), records.size());
    auto got = store->get_records(**info, ids);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(by_id(*got), expected);
    // The importer's batch-aligned path yields the same records.
    ASSERT_EQ(*store->part_count(name), parts);
    std::vector<Record> from_parts;
    for (std::size_t i = 0; i < parts; ++i) {
      auto part = store->read_part(name, i);
      ASSERT_TRUE(part) << part.error().message;
      from_parts.insert(from_parts.end(), part->begin(), part->end());
    }
    EXPECT_EQ(by_id(from_parts), expected);
    // The search path: the same ids and vectors, nothing else.
    for (std::size_t i = 0; i < parts; ++i) {
      auto full = store->read_part(name, i);
      auto vectors = store->read_part_vectors(name, i);
      ASSERT_TRUE(full && vectors) << vectors.error().message;
      ASSERT_EQ(vectors->size(), full->size());
      for (std::size_t r = 0; r < full->size(); ++r) {
        EXPECT_EQ((*vectors)[r].id, (*full)[r].id);
        EXPECT_EQ((*vectors)[r].embedding, (*full)[r].embedding);
        EXPECT_TRUE((*vectors)[r].metadata.empty());
      }
    }
    EXPECT_EQ(store->read_part_vectors(name, parts).error().code, ErrorCode::kInvalidArgument);
  }

  auto empty = store->find_collection("empty-one");
  ASSERT_TRUE(empty && *empty);
  EXPECT_FALSE((*empty)->dimension);
  EXPECT_EQ(*store->count(**empty), 0u);
  EXPECT_TRUE(store->list_ids(**empty, 0, 10)->empty());
  EXPECT_EQ(*store->part_count("empty-one"), 0u);

  auto missing = store->get_records(collections->front(), std::vector<std::string>{"nope"});
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());

  auto report = store->verify();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->problems.front().message;
  EXPECT_EQ(report->records_checked, 3700u);
  EXPECT_EQ(report->parts_checked, 6u);

  // Read-only: writes are refused.
  EXPECT_FALSE(store->upsert(collections->front(), make_records("x", 1)));
  EXPECT_FALSE(store->create_collection(spec("new-one")));
}

TEST_F(SnapshotStoreTest, ReadModeRequiresASealedSnapshot) {
  auto missing = SnapshotStore::open(dir_, Mode::kRead);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto store = open_or_die(dir_, Mode::kWrite);
  create(*store, "alpha");
  auto unsealed = SnapshotStore::open(dir_, Mode::kRead);
  ASSERT_FALSE(unsealed);
  EXPECT_NE(unsealed.error().message.find("not a sealed snapshot"), std::string::npos);
}

// The pipelined import reads each part by its file name before the snapshot is sealed, and must
// never send a part whose bytes changed on disk.
TEST_F(SnapshotStoreTest, ReadPartFileBeforeTheSealChecksEveryRecord) {
  const auto records = make_records("p-", 100);
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  ASSERT_TRUE(store->upsert(c, records));
  const std::string file = snapshot::part_file_name(records);
  auto read = store->read_part_file("alpha", file, records.size());
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(by_id(*read), by_id(records));
  EXPECT_EQ(store->read_part_file("alpha", file, 99).error().code, ErrorCode::kCorruption);
  EXPECT_EQ(store->read_part_file("alpha", "../collection.json", 1).error().code,
            ErrorCode::kInvalidArgument);

  const auto path = dir_ / "collections" / "alpha" / file;
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes);
  (*bytes)[bytes->size() / 2] ^= 0x01;  // one bit inside some record
  ASSERT_TRUE(write_file_atomic(path, *bytes));
  auto flipped = store->read_part_file("alpha", file, records.size());
  ASSERT_FALSE(flipped) << "a flipped bit was read as data";
  EXPECT_EQ(flipped.error().code, ErrorCode::kCorruption);
  EXPECT_NE(flipped.error().message.find(file), std::string::npos) << flipped.error().message;

  ASSERT_TRUE(store->flush());  // sealed now (with the flipped part): the file name is listed
  EXPECT_EQ(*store->part_file("alpha", 0), file);
}

TEST_F(SnapshotStoreTest, ResentBatchIsIdempotent) {
  const auto first = make_records("p-", 100);
  const auto second = make_records("q-", 100);
  {
    auto store = open_or_die(dir_, Mode::kWrite);
    auto c = create(*store, "alpha");
    ASSERT_TRUE(store->upsert(c, first));
    ASSERT_TRUE(store->upsert(c, second));
  }
  // "Crash", reopen and re-send the first batch: it lands in the same part file.
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = **store->find_collection("alpha");
  ASSERT_TRUE(store->upsert(c, first));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "collections" / "alpha"),
                          fs::directory_iterator{}),
            3);  // collection.json + 2 parts
  EXPECT_EQ(*store->count(c), 200u);
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(*store->count(c), 200u);
  EXPECT_EQ(*store->part_count("alpha"), 2u);
  EXPECT_TRUE(store->verify()->ok());
}

TEST_F(SnapshotStoreTest, OverlappingUpsertKeepsTheNewerCopy) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  const std::vector<Record> v1 = {make_record("a", 1), make_record("b", 1), make_record("c", 1)};
  const std::vector<Record> v2 = {make_record("b", 2), make_record("c", 2), make_record("d", 2)};
  ASSERT_TRUE(store->upsert(c, v1));
  ASSERT_TRUE(store->upsert(c, v2));
  // Before sealing, reads already resolve the overlap.
  EXPECT_EQ(*store->count(c), 4u);
  auto ids = all_ids(*store, c, 2);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()),
            (std::set<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(ids.size(), 4u);
  auto got = store->get_records(c, std::vector<std::string>{"b"});
  ASSERT_TRUE(got && got->size() == 1);
  EXPECT_EQ(got->front(), make_record("b", 2));

  ASSERT_TRUE(store->flush());
  EXPECT_EQ(*store->count(c), 4u);
  auto records = store->get_records(c, std::vector<std::string>{"a", "b", "c", "d"});
  ASSERT_TRUE(records);
  EXPECT_EQ(by_id(*records), by_id({make_record("a", 1), make_record("b", 2), make_record("c", 2),
                                    make_record("d", 2)}));
  EXPECT_TRUE(store->verify()->ok());

  // After a reopen, write_seq continues from the part headers: a new batch still wins.
  store.reset();
  store = open_or_die(dir_, Mode::kWrite);
  ASSERT_TRUE(store->upsert(c, std::vector<Record>{make_record("c", 3)}));
  EXPECT_FALSE(store->sealed());
  EXPECT_FALSE(fs::exists(dir_ / "manifest.json"));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(store->get_records(c, std::vector<std::string>{"c"})->front(), make_record("c", 3));
  EXPECT_EQ(*store->count(c), 4u);
  EXPECT_TRUE(store->verify()->ok());
}

TEST_F(SnapshotStoreTest, RepeatedIdInOneBatchKeepsTheLast) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  ASSERT_TRUE(store->upsert(c, std::vector<Record>{make_record("a", 1), make_record("a", 2)}));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(*store->count(c), 1u);
  EXPECT_EQ(store->get_records(c, std::vector<std::string>{"a"})->front(), make_record("a", 2));
}

TEST_F(SnapshotStoreTest, ListIdsPagingCoversEveryIdOnce) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  const auto records = make_records("id-", 1037);
  upsert_in_batches(*store, c, records, 100);
  ASSERT_TRUE(store->flush());
  for (std::uint32_t page : {1u, 7u, 100u, 101u, 5000u}) {
    auto ids = all_ids(*store, c, page);
    EXPECT_EQ(ids.size(), records.size()) << "page " << page;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), records.size());
  }
  EXPECT_TRUE(store->list_ids(c, 1037, 10)->empty());
  EXPECT_TRUE(store->list_ids(c, 0, 0)->empty());
}

TEST_F(SnapshotStoreTest, DimensionIsSetOnceAndEnforced) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  ASSERT_TRUE(store->upsert(c, std::vector<Record>{make_record("a", 1, 4)}));
  EXPECT_EQ((*store->find_collection("alpha"))->dimension, 4);
  auto bad = store->upsert(c, std::vector<Record>{make_record("b", 1, 5)});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto mixed =
      store->upsert(c, std::vector<Record>{make_record("c", 1, 4), make_record("d", 1, 5)});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().code, ErrorCode::kInvalidArgument);
  auto dup = store->create_collection(spec("alpha"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  Record bad_utf8 = make_record("e", 1, 4);
  bad_utf8.metadata["s"] = std::string("\xFF");
  EXPECT_FALSE(store->upsert(c, std::vector<Record>{bad_utf8}));
}

TEST_F(SnapshotStoreTest, DeleteRecordsAndCollections) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  auto gone = create(*store, "gone");
  upsert_in_batches(*store, c, make_records("r-", 30), 10);
  ASSERT_TRUE(store->upsert(gone, make_records("g-", 5)));
  ASSERT_TRUE(store->flush());
  // Deleting nothing that exists keeps the seal.
  ASSERT_TRUE(store->delete_records(c, std::vector<std::string>{"nope"}));
  EXPECT_TRUE(store->sealed());
  std::vector<std::string> doomed;
  for (int i = 0; i < 10; ++i) doomed.push_back("r-" + std::to_string(i));  // a whole part
  doomed.push_back("r-15");
  ASSERT_TRUE(store->delete_records(c, doomed));
  EXPECT_FALSE(store->sealed());
  EXPECT_EQ(*store->count(c), 19u);
  ASSERT_TRUE(store->delete_collection("gone"));
  EXPECT_FALSE(*store->find_collection("gone"));
  EXPECT_FALSE(fs::exists(dir_ / "collections" / "gone"));
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(*store->count(c), 19u);
  EXPECT_EQ(*store->part_count("alpha"), 2u);
  EXPECT_TRUE(store->verify()->ok());
}

TEST_F(SnapshotStoreTest, ConcurrentUpsertsFromFourThreads) {
  auto store = open_or_die(dir_, Mode::kWrite);
  auto c = create(*store, "alpha");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < 25; ++b) {
        auto batch = make_records("t" + std::to_string(t) + "-b" + std::to_string(b) + "-", 100);
        if (!store->upsert(c, batch)) ++failures;
        if (b % 10 == 0 && !store->count(c)) ++failures;  // reads interleave with writes
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(*store->count(c), 10000u);
  EXPECT_EQ(*store->part_count("alpha"), 100u);
  auto ids = all_ids(*store, c, 999);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 10000u);
  EXPECT_TRUE(store->verify()->ok());
}

}  // namespace
}  // namespace cm
