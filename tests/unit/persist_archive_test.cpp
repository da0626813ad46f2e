// persist:backup.tar.gz / .tar (common/persist/persist_archive.hpp): the committed real 1.0.5
// directory packed by tar as operators do (under leading folders), read like the directory itself,
// unpacked under the scratch parent only and removed at close; archives that climb out, hold links,
// hold no persist directory or two, or cannot be read are refused with a clear error.
#include <gtest/gtest.h>

#include "common/persist/persist_store.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/files.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;

// Every collection's records (ids, documents, metadata, vectors), as one comparable value.
std::map<std::string, std::vector<Record>> contents(PersistStore& store) {
  std::map<std::string, std::vector<Record>> out;
  auto list = store.list_collections();
  EXPECT_TRUE(list);
  for (const auto& c : *list) {
    auto ids = store.list_ids(c, 0, 1000);
    EXPECT_TRUE(ids);
    auto records = store.get_records(c, *ids);
    EXPECT_TRUE(records) << records.error().message;
    out[c.name] = *records;
  }
  return out;
}

class PersistArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("persist-archive");
    // As `tar czf backup.tar.gz /srv/chroma/data` leaves it: the directory under leading folders.
    lead_ = dir_ / "srv" / "chroma";
    fs::create_directories(lead_);
    auto unpacked = persist_test::unpack_persist_fixture(lead_);
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    persist_ = *unpacked;
    fs::create_directories(dir_ / "backups");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void tar(const std::string& flags, const fs::path& archive, const std::string& member) {
    auto r =
        testing::run_process("/bin/tar", {flags, archive.string(), "-C", dir_.string(), member});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // A tar archive written by python3's tarfile, for entries tar itself will not write.
  void python_tar(const fs::path& archive, const std::string& body) {
    auto r = testing::run_process(
        "/usr/bin/python3",
        {"-c", "import io, tarfile\nt = tarfile.open('" + archive.string() + "', 'w')\n" +
                   "def add(name, data=b'x', kind=tarfile.REGTYPE, link=''):\n"
                   "    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link\n"
                   "    i.size = len(data) if kind == tarfile.REGTYPE else 0\n"
                   "    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)\n" +
                   body + "\nt.close()\n"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  Result<std::unique_ptr<PersistStore>> open(const fs::path& archive) {
    return PersistStore::open(archive, {.scratch_parent = dir_ / "scratch"});
  }
  void expect_refused(const fs::path& archive, ErrorCode code, const std::string& message) {
    auto store = open(archive);
    ASSERT_FALSE(store) << archive;
    EXPECT_EQ(store.error().code, code) << store.error().message;
    EXPECT_NE(store.error().message.find(message), std::string::npos) << store.error().message;
    EXPECT_TRUE(!fs::exists(dir_ / "scratch") || fs::is_empty(dir_ / "scratch"))
        << "a refused archive leaves nothing unpacked";
  }

  fs::path dir_, lead_, persist_;
};

TEST_F(PersistArchiveTest, ATarballReadsLikeTheDirectoryItHolds) {
  auto direct = PersistStore::open(persist_, {.scratch_parent = dir_ / "scratch"});
  ASSERT_TRUE(direct) << direct.error().message;
  const auto expected = contents(**direct);
  ASSERT_EQ(expected.size(), 13u);
  direct->reset();
  for (const auto& [flags, name] : {std::pair{"-czf", "backup.tar.gz"}, std::pair{"-cf", "b.tar"},
                                    std::pair{"-czf", "backup.tgz"}}) {
    const fs::path archive = dir_ / "backups" / name;
    tar(flags, archive, "srv");
    const auto beside = testing::directory_digest(dir_ / "backups");
    {
      auto store = open(archive);
      ASSERT_TRUE(store) << store.error().message;
      EXPECT_EQ((*store)->describe(), "persist:" + archive.string());
      EXPECT_EQ(contents(**store), expected) << name;
      EXPECT_FALSE(fs::is_empty(dir_ / "scratch")) << "unpacked under the scratch parent";
      auto other = (*store)->open_database("default_tenant", "default_database");
      ASSERT_TRUE(other) << other.error().message;
      EXPECT_EQ(contents(**other), expected) << "a second database view shares the unpacked copy";
    }
    EXPECT_TRUE(fs::is_empty(dir_ / "scratch")) << "removed when the store closes";
    EXPECT_EQ(testing::directory_digest(dir_ / "backups"), beside) << "nothing next to the archive";
  }
}

TEST_F(PersistArchiveTest, EntriesThatClimbOutOrAreLinksAreRefused) {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {"add('data/chroma.sqlite3'); add('../evil')", "climbs out with '..'"},
      {"add('data/chroma.sqlite3'); add('data/../../evil')", "climbs out with '..'"},
      {"add('/tmp/evil'); add('data/chroma.sqlite3')", "absolute path '/tmp/evil'"},
      {"add('data/chroma.sqlite3'); add('data/link', kind=tarfile.SYMTYPE, link='/etc/passwd')",
       "neither a file nor a directory"},
      {"add('data/chroma.sqlite3'); add('data/hard', kind=tarfile.LNKTYPE, link='data/x')",
       "neither a file nor a directory"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const fs::path archive = dir_ / "backups" / ("bad" + std::to_string(i++) + ".tar");
    python_tar(archive, c.body);
    expect_refused(archive, ErrorCode::kInvalidArgument, c.message);
  }
  EXPECT_FALSE(fs::exists(dir_ / "evil"));
  EXPECT_FALSE(fs::exists(dir_ / "backups" / "evil"));
}

TEST_F(PersistArchiveTest, ArchivesWithoutExactlyOnePersistDirectoryAreRefused) {
  const fs::path none = dir_ / "backups" / "none.tar";
  python_tar(none, "add('notes/readme.txt')");
  expect_refused(none, ErrorCode::kInvalidArgument, "holds no Chroma persist directory");
  const fs::path two = dir_ / "backups" / "two.tar";
  python_tar(two, "add('a/chroma.sqlite3'); add('b/chroma.sqlite3')");
  expect_refused(two, ErrorCode::kInvalidArgument, "holds 2 persist directories");
}

TEST_F(PersistArchiveTest, UnreadableArchivesAreCorruption) {
  const fs::path archive = dir_ / "backups" / "backup.tar.gz";
  tar("-czf", archive, "srv");
  const std::string bytes = persist_test::read_bytes(archive);
  persist_test::write_bytes(archive, bytes.substr(0, bytes.size() / 2));
  expect_refused(archive, ErrorCode::kCorruption, "cannot be read as a tar archive");
  persist_test::write_bytes(archive, "this is not a tarball at all");
  expect_refused(archive, ErrorCode::kCorruption, "cannot be read as a tar archive");
  expect_refused(dir_ / "backups" / "missing.tar.gz", ErrorCode::kInvalidArgument,
                 "does not exist");
}

}  // namespace
}  // namespace cm
