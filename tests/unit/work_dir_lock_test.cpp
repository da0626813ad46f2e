// The work-dir lock: one holder at a time, the second told who holds it, released on destruction
// (and by the kernel when a process dies, which the integration tests' kill -9 runs rely on).
#include "common/run/work_dir_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

TEST(WorkDirLockTest, OneHolderAtATimeAndTheOtherIsToldWho) {
  const auto dir = testing::make_temp_dir("lock");
  {
    auto first = WorkDirLock::acquire(dir, "chroma-migrate");
    ASSERT_TRUE(first) << first.error().message;
    auto second = WorkDirLock::acquire(dir, "chroma-rollback");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
    EXPECT_NE(second.error().message.find("chroma-migrate (pid " + std::to_string(::getpid())),
              std::string::npos)
        << second.error().message;
  }
  auto again = WorkDirLock::acquire(dir, "chroma-rollback");
  EXPECT_TRUE(again) << again.error().message;
  std::filesystem::remove_all(dir);
}

TEST(WorkDirLockTest, AMissingDirectoryIsAnIoError) {
  auto lock = WorkDirLock::acquire("/nonexistent/work", "chroma-migrate");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace cm
