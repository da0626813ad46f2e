// The batch runner (common/base/batch_runner.hpp): every batch runs once, done ones are skipped,
// the first failure stops new batches and is reported, a stop request cancels, at most `workers`
// batches are in flight, and a batch is reported completed only after it succeeded.
#include "common/base/batch_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/base/cancellation.hpp"

namespace cm {
namespace {

using namespace std::chrono_literals;

const auto kNoneDone = [](std::size_t) { return false; };

// Thread-safe record of what ran and what was reported.
struct Trace {
  std::mutex mu;
  std::multiset<std::size_t> ran, completed;
  std::size_t records = 0;
};

TEST(BatchRunnerTest, RunsEveryBatchOnceAndReportsEach) {
  Trace t;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    std::lock_guard lock(t.mu);
    t.ran.insert(i);
    return i + 1;
  };
  work.completed = [&](std::size_t i, std::size_t records) -> Status {
    EXPECT_EQ(records, i + 1);
    t.completed.insert(i);  // serialised by the runner: no lock needed
    t.records += records;
    return ok_status();
  };
  ASSERT_TRUE(run_batches(50, kNoneDone, 4, work));
  std::multiset<std::size_t> all;
  for (std::size_t i = 0; i < 50; ++i) all.insert(i);
  EXPECT_EQ(t.ran, all);
  EXPECT_EQ(t.completed, all);
  EXPECT_EQ(t.records, 50u * 51u / 2u);
}

TEST(BatchRunnerTest, SkipsBatchesAlreadyDone) {
  Trace t;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    std::lock_guard lock(t.mu);
    t.ran.insert(i);
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    t.completed.insert(i);
    return ok_status();
  };
  ASSERT_TRUE(run_batches(
      10, [](std::size_t i) { return i % 3 == 0; }, 2, work));
  EXPECT_EQ(t.ran, (std::multiset<std::size_t>{1, 2, 4, 5, 7, 8}));
  EXPECT_EQ(t.completed, t.ran);
}

TEST(BatchRunnerTest, FirstFailureStopsNewBatchesAndIsReportedWithItsBatch) {
  Trace t;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    {
      std::lock_guard lock(t.mu);
      t.ran.insert(i);
    }
    if (i == 5) return make_error(ErrorCode::kTransient, "server went away");
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    t.completed.insert(i);
    return ok_status();
  };
  auto status = run_batches(20, kNoneDone, 1, work);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kTransient);
  EXPECT_EQ(status.error().message, "batch 5: server went away");
  // One worker: batches run in order and nothing starts after the failure.
  EXPECT_EQ(t.ran, (std::multiset<std::size_t>{0, 1, 2, 3, 4, 5}));
  // The failed batch is never reported completed (a resume must do it again).
  EXPECT_EQ(t.completed, (std::multiset<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(BatchRunnerTest, WithSeveralWorkersAFailureStillStopsTheRun) {
  std::atomic<std::size_t> runs{0};
  std::set<std::size_t> completed;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    ++runs;
    if (i == 3) return make_error(ErrorCode::kRejected, "bad batch");
    std::this_thread::sleep_for(1ms);
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    completed.insert(i);
    return ok_status();
  };
  auto status = run_batches(1000, kNoneDone, 3, work);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kRejected);
  EXPECT_FALSE(completed.contains(3));
  EXPECT_LT(runs.load(), 1000u);  // the run stopped well before the end
}

TEST(BatchRunnerTest, AFailingCompletionStopsTheRunWithItsError) {
  std::vector<std::size_t> ran;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    ran.push_back(i);
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    if (i == 2) return make_error(ErrorCode::kIo, "checkpoint disk full");
    return ok_status();
  };
  auto status = run_batches(10, kNoneDone, 1, work);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_EQ(status.error().message, "checkpoint disk full");
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(BatchRunnerTest, NeverMoreThanWorkersBatchesInFlightAndAllOfThemUsed) {
  std::atomic<int> in_flight{0}, max_in_flight{0};
  std::atomic<bool> all_three_seen{false};
  BatchWork work;
  work.run = [&](std::size_t) -> Result<std::size_t> {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    if (now == 3) all_three_seen = true;
    // Hold the batch until three are in flight at once (bounded wait), then a little longer.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!all_three_seen && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(2ms);
    --in_flight;
    return 1;
  };
  work.completed = [](std::size_t, std::size_t) { return ok_status(); };
  ASSERT_TRUE(run_batches(30, kNoneDone, 3, work));
  EXPECT_EQ(max_in_flight.load(), 3);
}

TEST(BatchRunnerTest, ReportsABatchOnlyAfterItFinishedAndOneAtATime) {
  std::mutex mu;
  std::set<std::size_t> finished;
  std::atomic<int> in_completed{0};
  bool overlap = false, early = false;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    std::this_thread::sleep_for(std::chrono::microseconds(100 * (i % 4)));
    std::lock_guard lock(mu);
    finished.insert(i);
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    if (++in_completed > 1) overlap = true;
    {
      std::lock_guard lock(mu);
      if (!finished.contains(i)) early = true;
    }
    std::this_thread::sleep_for(50us);
    --in_completed;
    return ok_status();
  };
  ASSERT_TRUE(run_batches(40, kNoneDone, 4, work));
  EXPECT_FALSE(overlap);
  EXPECT_FALSE(early);
}

// request_stop() is process-wide and cannot be undone: this test must stay last in the file (ctest
// runs each test in a process of its own anyway).
TEST(BatchRunnerZStopTest, AStopRequestFinishesTheBatchInFlightAndCancels) {
  std::vector<std::size_t> ran, completed;
  BatchWork work;
  work.run = [&](std::size_t i) -> Result<std::size_t> {
    ran.push_back(i);
    if (i == 3) request_stop();  // a SIGINT arriving while batch 3 is being sent
    return 1;
  };
  work.completed = [&](std::size_t i, std::size_t) -> Status {
    completed.push_back(i);
    return ok_status();
  };
  auto status = run_batches(10, kNoneDone, 1, work);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(completed, (std::vector<std::size_t>{0, 1, 2, 3}));  // batch 3 is checkpointed
}

TEST(BatchPlanTest, LocatesGlobalIndicesAcrossCollections) {
  BatchPlan plan;
  plan.add(3);
  plan.add(0);  // an empty collection owns no index
  plan.add(2);
  EXPECT_EQ(plan.total(), 5u);
  EXPECT_EQ(plan.locate(0), (std::pair<std::size_t, std::size_t>{0, 0}));
  EXPECT_EQ(plan.locate(2), (std::pair<std::size_t, std::size_t>{0, 2}));
  EXPECT_EQ(plan.locate(3), (std::pair<std::size_t, std::size_t>{2, 0}));
  EXPECT_EQ(plan.locate(4), (std::pair<std::size_t, std::size_t>{2, 1}));
}

}  // namespace
}  // namespace cm
