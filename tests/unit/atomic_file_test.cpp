#include "common/base/atomic_file.hpp"

#include <gtest/gtest.h>

#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("atomic-file"); }
  void TearDown() override {
    set_atomic_write_crash_before_rename_for_testing(false);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplaces) {
  auto path = dir_ / "state.json";
  ASSERT_TRUE(write_file_atomic(path, "one"));
  ASSERT_TRUE(write_file_atomic(path, "two"));
  auto content = read_file(path);
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "two");
}

TEST_F(AtomicFileTest, CrashBeforeRenameKeepsPreviousContent) {
  auto path = dir_ / "checkpoint.json";
  ASSERT_TRUE(write_file_atomic(path, "previous"));
  set_atomic_write_crash_before_rename_for_testing(true);
  auto status = write_file_atomic(path, "next");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kCancelled);
  auto content = read_file(path);
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "previous");
}

TEST_F(AtomicFileTest, MissingFileIsNotFound) {
  auto content = read_file(dir_ / "nope");
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code, ErrorCode::kNotFound);
}

TEST_F(AtomicFileTest, UnwritableDirectoryIsIoError) {
  auto status = write_file_atomic(dir_ / "missing-dir" / "f", "x");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace cm
