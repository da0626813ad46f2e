// Delta generations (common/snapshot/snapshot_generations.hpp): a base snapshot plus committed
// deltas reads as one snapshot through every read SnapshotStore offers; an uncommitted delta is
// invisible; a delta bound to another base is refused.
#include "common/snapshot/snapshot_generations.hpp"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/snapshot_test_util.hpp"

namespace cm {
namespace {

using namespace snapshot_test;  // NOLINT: test helpers

class SnapshotGenerations : public SnapshotStoreTest {
 protected:
  void SetUp() override {
    SnapshotStoreTest::SetUp();
    auto store = open_or_die(dir_, Mode::kWrite);
    info_ = create(*store, "alpha");
    create(*store, "untouched");
    upsert_in_batches(*store, info_, make_records("r", 100), 30);
    ASSERT_TRUE(store->flush());
    expected_ = by_id(make_records("r", 100));
  }

  // Writes generation `g` on top of what the snapshot reads now: `upserts`, then tombstones for
  // `deleted`; commits it unless told not to.
  void delta(std::uint64_t g, const std::vector<Record>& upserts,
             const std::vector<std::string>& deleted, bool commit = true) {
    auto below = open_or_die(dir_, Mode::kRead);
    auto binding = below->binding();
    ASSERT_TRUE(binding) << binding.error().message;
    auto d = open_or_die(snapshot::delta_dir(dir_, g), Mode::kWrite);
    ASSERT_TRUE(d->set_lineage(g, *binding));
    auto c = d->create_collection_from(info_);
    ASSERT_TRUE(c) << c.error().message;
    if (!upserts.empty()) {
      ASSERT_TRUE(d->upsert(*c, upserts));
    }
    if (!deleted.empty()) {
      ASSERT_TRUE(d->write_tombstones(*c, deleted));
    }
    auto sealed = d->flush();
    ASSERT_TRUE(sealed) << sealed.error().message;
    if (!commit) return;
    ASSERT_TRUE(snapshot::commit_generation(dir_, g));
    for (const auto& r : upserts) expected_[r.id] = r;
    for (const auto& id : deleted) expected_.erase(id);
  }

  // Every read path agrees with `expected_`; a query for the vector of each of `distinct` (ids
  // whose vector no other record shares) finds that id first.
  void expect_reads(SnapshotStore& s, const std::vector<std::string>& distinct = {}) {
    ASSERT_EQ(*s.count(info_), expected_.size());
    EXPECT_EQ(s.manifest()->collections[0].record_count, expected_.size());
    auto ids = all_ids(s, info_, 7);
    EXPECT_EQ(ids.size(), expected_.size());
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "repeated id";
    std::vector<std::string> wanted = ids;
    wanted.push_back("never-there");
    auto got = s.get_records(info_, wanted);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(by_id(*got), expected_);
    std::map<std::string, Record> parts, vectors;
    auto n = s.part_count("alpha");
    ASSERT_TRUE(n);
    for (std::size_t i = 0; i < *n; ++i) {
      auto part = s.read_part("alpha", i);
      auto part_vectors = s.read_part_vectors("alpha", i);
      ASSERT_TRUE(part && part_vectors);
      for (auto& r : *part) EXPECT_TRUE(parts.emplace(r.id, r).second) << r.id;
      for (auto& r : *part_vectors) vectors.emplace(r.id, r);
    }
    EXPECT_EQ(parts, expected_);
    ASSERT_EQ(vectors.size(), expected_.size());
    for (const auto& [id, r] : expected_) EXPECT_EQ(vectors[id].embedding, r.embedding) << id;
    // No stale or deleted copy answers a query.
    for (const auto& id : distinct) {
      auto hits = s.query(info_, std::vector<std::vector<float>>{expected_[id].embedding}, 1);
      ASSERT_TRUE(hits) << hits.error().message;
      EXPECT_EQ((*hits)[0].at(0).id, id);
    }
  }

  CollectionInfo info_;
  std::map<std::string, Record> expected_;
};

TEST_F(SnapshotGenerations, DeltasReadAsOneSnapshotThroughEveryRead) {
  Record moved = make_record("r5", 7);
  moved.embedding.assign(8, -3.0f);
  delta(1, {moved, make_record("new-1", 4), make_record("new-2", 4)}, {"r1", "r2"});
  // Generation 2 deletes an id added in 1, re-adds one deleted in 1 with another vector, and
  // changes r5 again.
  Record back = make_record("r1", 9);
  back.embedding.assign(8, 42.0f);
  Record again = make_record("r5", 8);
  again.embedding.assign(8, -9.0f);
  delta(2, {back, again}, {"new-2", "r7"});
  auto s = open_or_die(dir_, Mode::kRead);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->generation(), 2u);
  expect_reads(*s, {"r5", "r1"});
  EXPECT_EQ(expected_.size(), 100u + 2u - 2u - 1u + 1u - 1u);
  auto verified = s->verify();
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->ok()) << verified->problem_lines();
}

TEST_F(SnapshotGenerations, AnUncommittedDeltaIsInvisibleAndReplaceable) {
  delta(1, {make_record("new-1", 4)}, {"r3"});
  delta(2, {make_record("new-9", 4)}, {"r4"}, /*commit=*/false);
  auto s = open_or_die(dir_, Mode::kRead);
  EXPECT_EQ(s->generation(), 1u);
  expect_reads(*s);
  ASSERT_TRUE(snapshot::remove_uncommitted_deltas(dir_));
  EXPECT_FALSE(std::filesystem::exists(snapshot::delta_dir(dir_, 2)));
  EXPECT_TRUE(std::filesystem::exists(snapshot::delta_dir(dir_, 1)));
}

TEST_F(SnapshotGenerations, ADeltaBoundToAnotherBaseIsRefused) {
  delta(1, {make_record("new-1", 4)}, {});
  // The base changes after the delta was bound to it: the chain no longer holds.
  {
    auto base = open_or_die(dir_, Mode::kWrite);
    ASSERT_TRUE(base->upsert(info_, std::vector<Record>{make_record("sneaked", 1)}));
    ASSERT_TRUE(base->flush());
  }
  auto s = SnapshotStore::open(dir_, Mode::kRead);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kCorruption);
  EXPECT_NE(s.error().message.find("chain is broken"), std::string::npos) << s.error().message;
}

TEST_F(SnapshotGenerations, TombstonesOnlyInDeltas) {
  auto base = open_or_die(dir_, Mode::kWrite);
  auto refused = base->write_tombstones(info_, std::vector<std::string>{"r1"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cm
