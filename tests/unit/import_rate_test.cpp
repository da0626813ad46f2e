// migrate/import_rate: the import's progress samples stay bounded whatever the run's length, keep
// the start and the end, and stay in time order with the records they counted.
#include <thread>

#include <gtest/gtest.h>

#include "migrate/import_rate.hpp"

namespace cm::migrate {
namespace {

TEST(ImportRate, NeverStartedHasNoSamples) {
  ImportRate rate;
  rate.add(10);
  rate.finish();
  EXPECT_TRUE(rate.to_json()["samples"].empty());
}

TEST(ImportRate, StartAndFinishAreKept) {
  ImportRate rate;
  rate.start(40);  // a resumed import: 40 records were in before
  rate.add(5);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  rate.add(5);
  rate.finish();
  const auto samples = rate.to_json()["samples"];
  ASSERT_GE(samples.size(), 2u);
  EXPECT_EQ(samples.front()[0], 0.0);
  EXPECT_EQ(samples.front()[1], 40);
  EXPECT_EQ(samples.back()[1], 50);
  EXPECT_GT(samples.back()[0].get<double>(), 0.05);
}

// The pipelined import starts the picture during the export; the import phase's own start (with
// the batches its checkpoint counts) must not reset it.
TEST(ImportRate, ASecondStartContinuesThePicture) {
  ImportRate rate(0.0);
  rate.start(0);
  rate.add(300);
  rate.start(100);
  rate.add(50);
  rate.finish();
  const auto samples = rate.to_json()["samples"];
  ASSERT_GE(samples.size(), 3u);
  EXPECT_EQ(samples.front()[1], 0);
  EXPECT_EQ(samples.back()[1], 350);
}

TEST(ImportRate, BoundedAndOrderedOverALongImport) {
  ImportRate rate(0.0);  // every batch is a sample: the buffer fills and is thinned many times
  rate.start(0);
  for (int i = 0; i < 2000; ++i) rate.add(1);
  rate.finish();
  const auto samples = rate.to_json()["samples"];
  EXPECT_LE(samples.size(), ImportRate::kMaxSamples);
  EXPECT_EQ(samples.front()[1], 0);
  EXPECT_EQ(samples.back()[1], 2000);
  for (std::size_t i = 1; i < samples.size(); ++i) {
    EXPECT_GE(samples[i][0].get<double>(), samples[i - 1][0].get<double>());
    EXPECT_GE(samples[i][1].get<std::uint64_t>(), samples[i - 1][1].get<std::uint64_t>());
  }
}

}  // namespace
}  // namespace cm::migrate
