// The seed workflow's own backup as a migration source: `tar czf backup.tar.gz /abs/path/data` of
// a directory the real Chroma 1.0.5 server wrote and was then stopped, given as
// `--source persist:backup.tar.gz`: inspected (unpacked into a temp dir that is removed), migrated
// into another real server (unpacked into the work dir's tmp/, removed at the end), validated
// PASSED against the archive, and the target holds what the test wrote. Nothing is written next
// to the archive.
#include <gtest/gtest.h>

#include "common/base/atomic_file.hpp"
#include "common/run/store_factory.hpp"
#include "tests/integration/persist_fixture.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

TEST(PersistArchiveMigrate, ATarballOfAStoppedServerIsInspectedMigratedAndValidated) {
  const fs::path dir = make_temp_dir("persist-archive-it");
  auto source_server = ChromaServer::start();
  ASSERT_TRUE(source_server) << source_server.error().message;
  std::map<std::string, std::string> spaces;
  Contents model;
  {
    auto uri = parse_store_uri((*source_server)->url());
    auto store = open_store(*uri, StoreRole::kTarget, {});
    ASSERT_TRUE(store) << store.error().message;
    model = write_corpus(**store, 2600, 16, "");  // persisted segments and queue-only records
    change_records(**store, model, 20);
    auto collections = (*store)->list_collections();
    ASSERT_TRUE(collections);
    for (const auto& c : *collections) spaces[c.name] = c.hnsw.space;
  }
  (*source_server)->stop();
  const fs::path backups = dir / "backups";
  fs::create_directories(backups);
  const fs::path archive = backups / "chromadb_backup.tar.gz";
  // An absolute path, as operators write it: tar keeps it (less the leading '/') as folders.
  auto tar =
      run_process("/bin/tar", {"czf", archive.string(), (*source_server)->persist_dir().string()});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  const std::string source = "persist:" + archive.string();
  const auto beside = directory_digest(backups);

  const fs::path tmp = dir / "tmp";
  fs::create_directories(tmp);
  auto inspect = run_process(
      CHROMA_MIGRATE_BIN, {"--inspect", "--source", source, "--report", (dir / "i.json").string()},
      {{"TMPDIR", tmp.string()}});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("default_tenant/default_database/kb_articles"), std::string::npos)
      << inspect.output;
  EXPECT_TRUE(fs::is_empty(tmp)) << "--inspect removes what it unpacked";
  // Its page beside the JSON: every collection's health, plotted and named.
  const auto page_text = read_file(dir / "i.html");
  ASSERT_TRUE(page_text) << "no i.html beside i.json";
  const std::string& page = *page_text;
  EXPECT_NE(page.find("EVERY VECTOR RECOVERABLE"), std::string::npos);
  EXPECT_NE(page.find("<svg id=\"inspect-records\""), std::string::npos);
  EXPECT_NE(page.find("default_tenant/default_database/kb_articles"), std::string::npos);

  auto target = ChromaServer::start();
  ASSERT_TRUE(target) << target.error().message;
  const fs::path work = dir / "work";
  auto migrate = run_process(CHROMA_MIGRATE_BIN, {"--source", source, "--target", (*target)->url(),
                                                  "--work-dir", work.string()});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  EXPECT_TRUE(!fs::exists(work / "tmp") || fs::is_empty(work / "tmp"))
      << "the unpacked copy outlived the run";
  auto validate =
      run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work.string(), "--source", source});
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  EXPECT_NE(validate.output.find("PASSED"), std::string::npos) << validate.output;
  {
    auto uri = parse_store_uri((*target)->url());
    auto migrated = open_store(*uri, StoreRole::kTarget, {});
    ASSERT_TRUE(migrated);
    expect_same_contents(model, export_all(**migrated), spaces, {4, 1});
  }
  EXPECT_EQ(directory_digest(backups), beside) << "nothing is written next to the archive";
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace cm::testing
