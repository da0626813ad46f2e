// find_open_writers: another process holding a file read-write is found (by pid, with its command
// line), a read-only holder and this process itself are not, and SqliteCopy refuses a persist
// directory whose chroma.sqlite3 a writer holds (exit 9's kAlreadyExists) before copying anything.
#include "common/persist/open_writers.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "common/persist/sqlite_copy.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm {
namespace {

// A child process that opens `file` with `flags`, reports readiness through a pipe, and holds the
// file until the parent closes the other pipe (no sleeping: both sides block on pipes).
class Holder {
 public:
  Holder(const std::filesystem::path& file, int flags) {
    int ready[2];
    int release[2];
    EXPECT_EQ(::pipe(ready), 0);
    EXPECT_EQ(::pipe(release), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      const int fd = ::open(file.c_str(), flags);
      const char ok = fd >= 0 ? 'y' : 'n';
      (void)!::write(ready[1], &ok, 1);
      char byte = 0;
      (void)!::read(release[0], &byte, 1);  // returns at EOF, when the parent lets go
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_ = release[1];
    char ok = 0;
    EXPECT_EQ(::read(ready[0], &ok, 1), 1);
    EXPECT_EQ(ok, 'y') << "the child could not open " << file;
    ::close(ready[0]);
  }
  ~Holder() {
    ::close(release_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
};

class OpenWritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("open-writers");
    file_ = dir_ / "chroma.sqlite3";
    std::ofstream(file_) << "SQLite format 3";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

TEST_F(OpenWritersTest, AnotherProcessHoldingTheFileReadWriteIsFound) {
  Holder holder(file_, O_RDWR);
  const auto writers = find_open_writers({dir_ / "missing", file_});
  ASSERT_EQ(writers.size(), 1u);
  EXPECT_EQ(writers[0].pid, holder.pid());
  EXPECT_EQ(writers[0].file, file_);
  EXPECT_NE(writers[0].command.find("open_writers_test"), std::string::npos) << writers[0].command;
}

TEST_F(OpenWritersTest, ReadOnlyHoldersAndThisProcessAreNotWriters) {
  Holder reader(file_, O_RDONLY);
  const int own = ::open(file_.c_str(), O_RDWR);
  ASSERT_GE(own, 0);
  EXPECT_TRUE(find_open_writers({file_}).empty());
  ::close(own);
  EXPECT_TRUE(find_open_writers({dir_ / "missing"}).empty());
}

TEST_F(OpenWritersTest, TheSqliteCopyRefusesADirectoryAWriterHolds) {
  const auto scratch = dir_ / "scratch";
  {
    Holder holder(file_, O_WRONLY);
    auto copy = SqliteCopy::make(dir_, scratch);
    ASSERT_FALSE(copy);
    EXPECT_EQ(copy.error().code, ErrorCode::kAlreadyExists);
    EXPECT_NE(copy.error().message.find("process " + std::to_string(holder.pid())),
              std::string::npos)
        << copy.error().message;
    EXPECT_NE(copy.error().message.find("still running"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(scratch)) << "nothing is copied before the refusal";
  }
  // Once the writer is gone the same directory gets past the check (and fails later, on the fake
  // header, which proves the check is what stopped it above).
  auto copy = SqliteCopy::make(dir_, scratch);
  ASSERT_FALSE(copy);
  EXPECT_EQ(copy.error().code, ErrorCode::kCorruption) << copy.error().message;
}

}  // namespace
}  // namespace cm
