// ThrottledStore / RecordPacer with a fake clock (no real waiting): reads of n records occupy n/N
// seconds of a shared schedule, the first goes at once, idle time is not banked into a burst, and
// only record-carrying reads are paced.
#include "common/store/throttled_store.hpp"

#include <gtest/gtest.h>

#include "tests/support/memory_store.hpp"

namespace cm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A clock that moves only when someone sleeps on it (or the test advances it).
struct FakeClock {
  Clock::time_point now{};
  std::vector<milliseconds> waits;  // every sleep, measured from its start
  PaceClock clock() {
    return {[this] { return now; },
            [this](Clock::time_point t) {
              waits.push_back(std::chrono::duration_cast<milliseconds>(t - now));
              now = t;
            }};
  }
};

TEST(RecordPacerTest, ReadsOccupyTheirShareOfASecondAndTheFirstGoesAtOnce) {
  FakeClock fake;
  RecordPacer pacer(1000, fake.clock());  // 1000 records/s
  pacer.acquire(500);                     // at once
  pacer.acquire(500);                     // at 0.5 s
  pacer.acquire(1000);                    // at 1.0 s
  EXPECT_EQ(fake.waits, (std::vector<milliseconds>{milliseconds(500), milliseconds(500)}));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(fake.now.time_since_epoch()),
            milliseconds(1000));
}

TEST(RecordPacerTest, IdleTimeIsNotBankedIntoABurst) {
  FakeClock fake;
  RecordPacer pacer(100, fake.clock());
  pacer.acquire(100);                   // at 0, next slot at 1 s
  fake.now += std::chrono::seconds(5);  // idle for 5 s
  pacer.acquire(100);                   // at once (its slot is in the past)
  pacer.acquire(100);                   // one second later, not at once
  EXPECT_EQ(fake.waits, (std::vector<milliseconds>{milliseconds(1000)}));
}

TEST(RecordPacerTest, NoRateOrNoRecordsNeverWaits) {
  FakeClock fake;
  RecordPacer off(0, fake.clock());
  off.acquire(1'000'000);
  RecordPacer on(10, fake.clock());
  on.acquire(0);
  on.acquire(0);
  EXPECT_TRUE(fake.waits.empty());
}

TEST(ThrottledStoreTest, GetsAndQueriesArePacedIdScansAreNot) {
  FakeClock fake;
  auto memory = std::make_unique<testing::MemoryStore>();
  auto* inner = memory.get();
  ThrottledStore store(std::move(memory), 10, fake.clock());  // 10 records/s
  CollectionSpec spec;
  spec.name = "coll";
  auto c = store.create_collection(spec);
  ASSERT_TRUE(c) << c.error().message;
  std::vector<Record> records;
  for (int i = 0; i < 20; ++i) records.push_back({"r" + std::to_string(i), {1, 2}, "d", {}});
  ASSERT_TRUE(inner->upsert(*c, records));
  auto ids = store.list_ids(*c, 0, 100);
  ASSERT_TRUE(ids);
  EXPECT_TRUE(fake.waits.empty()) << "an id scan is not paced";
  ASSERT_TRUE(store.get_records(*c, std::span(*ids).subspan(0, 10)));   // at once
  ASSERT_TRUE(store.get_records(*c, std::span(*ids).subspan(10, 10)));  // after 1 s
  std::vector<std::vector<float>> queries(5, std::vector<float>{1, 2});
  ASSERT_TRUE(store.query(*c, queries, 3));  // after 1 more s
  EXPECT_EQ(fake.waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(1000)}));
}

}  // namespace
}  // namespace cm
