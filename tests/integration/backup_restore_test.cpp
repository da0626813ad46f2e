// chroma-rollback --backup-path: the operators' backup (`tar czf` of a stopped real Chroma 1.0.5
// server's persist directory), the plain persist directory and a snapshot directory are each
// restored into a real server where a collection of the same name already holds other content:
// that collection is archived (the archive holds its old content), then replaced; the target ends
// equal to the backup and the report says so. A path of none of the three kinds is a usage error
// (exit 2) that writes and contacts nothing; an archive that fails deletes nothing.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <iterator>

#include "common/run/store_factory.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/integration/persist_fixture.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<VectorStore> open_uri(const std::string& text) {
  auto uri = parse_store_uri(text);
  EXPECT_TRUE(uri) << text;
  auto store = open_store(*uri, StoreRole::kTarget, {});
  EXPECT_TRUE(store) << store.error().message;
  return std::move(*store);
}

// Writes `n` records of other content (4 dims, l2) into a new collection `name`.
std::map<std::string, Record> write_other(VectorStore& store, const std::string& name, int n) {
  auto info = store.create_collection({.name = name,
                                       .metadata = {{"owner", MetaValue{std::string("ops")}}},
                                       .hnsw = {},
                                       .configuration = {}});
  EXPECT_TRUE(info) << info.error().message;
  std::vector<Record> records;
  std::map<std::string, Record> model;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.id = "other-" + std::to_string(i);
    r.embedding = {static_cast<float>(i), 1.0f, 2.0f, 3.0f};
    r.document = "older content " + std::to_string(i);
    r.metadata = {{"n", MetaValue{std::int64_t{i}}}};
    records.push_back(r);
    model[r.id] = r;
  }
  EXPECT_TRUE(store.upsert(*info, records));
  return model;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

class BackupRestore : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("backup-restore-it"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Runs the restore as the runbook writes it (plus --work-dir); expects exit 0, the target equal
  // to `model`, the report written and verified.
  void restore_and_check(const std::string& backup, const std::string& url, const fs::path& work,
                         const Contents& model, const std::map<std::string, std::string>& spaces) {
    const fs::path md = work.parent_path() / (work.filename().string() + "_report.md");
    auto run = run_process(CHROMA_ROLLBACK_BIN,
                           {"--backup-path", backup, "--restore-url", url, "--report-output",
                            md.string(), "--work-dir", work.string()});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    auto target = open_uri(url);
    expect_same_contents(model, export_all(*target), spaces, {4, 1});
    ASSERT_TRUE(fs::exists(md));
    const std::string text = read_text(md);
    EXPECT_NE(text.find("RESTORED"), std::string::npos) << text;
    EXPECT_NE(text.find("Verification: passed"), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(fs::path(md).replace_extension(".json")));
    EXPECT_TRUE(fs::exists(work / "rollback_report.json"));
    // The page beside both JSONs: the backup restore's status and trigger (the backup).
    for (const auto& page :
         {fs::path(md).replace_extension(".html"), work / "rollback_report.html"}) {
      ASSERT_TRUE(fs::exists(page)) << page;
      const std::string html = read_text(page);
      EXPECT_NE(html.find("id=\"rollback-status\">RESTORED<"), std::string::npos) << page;
      EXPECT_NE(html.find("restore of the "), std::string::npos) << page;
    }
  }

  fs::path dir_;
};

TEST_F(BackupRestore, TarballPersistDirAndSnapshotAreRestoredOverAnArchivedCollection) {
  auto a = ChromaServer::start();
  ASSERT_TRUE(a) << a.error().message;
  std::map<std::string, std::string> spaces;
  Contents model;
  {
    auto store = open_uri((*a)->url());
    model = write_corpus(*store, 1500, 8, "");  // cosine, l2, ip; every metadata type; uris
    auto collections = store->list_collections();
    ASSERT_TRUE(collections);
    for (const auto& c : *collections) spaces[c.name] = c.hnsw.space;
  }
  (*a)->stop();
  const fs::path archive = dir_ / "chromadb_backup.tar.gz";
  auto tar = run_process("/bin/tar", {"czf", archive.string(), (*a)->persist_dir().string()});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;

  auto b = ChromaServer::start();
  ASSERT_TRUE(b) << b.error().message;
  const std::string taken = model.begin()->first;  // a backup collection's name, other content
  std::map<std::string, Record> older;
  std::string older_id;
  {
    auto store = open_uri((*b)->url());
    older = write_other(*store, taken, 30);
    older_id = (*store->find_collection(taken))->id;
  }
  const fs::path work1 = dir_ / "work-tarball";
  restore_and_check(archive.string(), (*b)->url(), work1, model, spaces);
  {  // the replaced collection was archived first: the archive holds its old content
    auto snap = SnapshotStore::open(work1 / "snapshots" / "archive", SnapshotStore::Mode::kRead);
    ASSERT_TRUE(snap) << snap.error().message;
    auto archived = export_all(**snap);
    ASSERT_EQ(archived.size(), 1u);
    EXPECT_EQ(archived[taken], older);
    EXPECT_EQ((*(*snap)->find_collection(taken))->id, older_id);
  }
  // The plain persist directory, into the same server: every collection exists now, so every one
  // is archived, then replaced; the result is the same.
  const fs::path work2 = dir_ / "work-persist";
  restore_and_check((*a)->persist_dir().string(), (*b)->url(), work2, model, spaces);
  {
    auto snap = SnapshotStore::open(work2 / "snapshots" / "archive", SnapshotStore::Mode::kRead);
    ASSERT_TRUE(snap) << snap.error().message;
    EXPECT_EQ(export_all(**snap).size(), model.size());
  }
  // A snapshot directory (the first restore's export of the tarball) into a fresh server.
  auto c = ChromaServer::start();
  ASSERT_TRUE(c) << c.error().message;
  restore_and_check((work1 / "snapshots" / "backup").string(), (*c)->url(), dir_ / "work-snapshot",
                    model, spaces);
}

TEST_F(BackupRestore, APathOfNoneOfTheThreeKindsIsAUsageErrorThatTouchesNothing) {
  auto b = ChromaServer::start();
  ASSERT_TRUE(b) << b.error().message;
  {
    auto store = open_uri((*b)->url());
    write_other(*store, "kept", 5);
  }
  const Contents before = export_all(*open_uri((*b)->url()));
  fs::create_directories(dir_ / "empty-dir");
  std::ofstream(dir_ / "backup.zip") << "not a tarball";
  const fs::path work = dir_ / "work";
  for (const fs::path& bad : {dir_ / "missing", dir_ / "empty-dir", dir_ / "backup.zip"}) {
    auto run = run_process(CHROMA_ROLLBACK_BIN, {"--backup-path", bad.string(), "--restore-url",
                                                 (*b)->url(), "--work-dir", work.string()});
    EXPECT_EQ(run.exit_code, 2) << bad << run.output;
    EXPECT_NE(run.output.find("snapshot directory"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("persist directory"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(".tar.gz"), std::string::npos) << run.output;
  }
  EXPECT_FALSE(fs::exists(work)) << "nothing is written";
  EXPECT_EQ(export_all(*open_uri((*b)->url())), before) << "nothing is written on the target";
  // The two modes' flags do not mix.
  auto mixed = run_process(CHROMA_ROLLBACK_BIN, {"--backup-path", (dir_ / "empty-dir").string(),
                                                 "--restore-url", (*b)->url(), "--dry-run"});
  EXPECT_EQ(mixed.exit_code, 2) << mixed.output;
  EXPECT_NE(mixed.output.find("--dry-run"), std::string::npos) << mixed.output;
  auto alone =
      run_process(CHROMA_ROLLBACK_BIN, {"--work-dir", work.string(), "--restore-url", (*b)->url()});
  EXPECT_EQ(alone.exit_code, 2) << alone.output;
  EXPECT_NE(alone.output.find("--backup-path"), std::string::npos) << alone.output;
  EXPECT_FALSE(fs::exists(work));
}

// The rule "nothing is deleted unless archived and proven first": the archive's writes fail
// (fault injection on the work snapshot), so the same-named target collection is never dropped.
TEST_F(BackupRestore, WhenTheArchiveFailsNothingOnTheTargetIsDeleted) {
  const fs::path backup = dir_ / "backup-snapshot";
  {
    auto snap = SnapshotStore::open(backup, SnapshotStore::Mode::kWrite);
    ASSERT_TRUE(snap) << snap.error().message;
    write_other(**snap, "notes", 12);
    ASSERT_TRUE((*snap)->flush());
  }
  auto b = ChromaServer::start();
  ASSERT_TRUE(b) << b.error().message;
  std::string id;
  {
    auto store = open_uri((*b)->url());
    write_other(*store, "notes", 7);
    id = (*store->find_collection("notes"))->id;
  }
  const Contents before = export_all(*open_uri((*b)->url()));
  const fs::path work = dir_ / "work";
  auto run = run_process(
      CHROMA_ROLLBACK_BIN,
      {"--backup-path", backup.string(), "--restore-url", (*b)->url(), "--work-dir", work.string()},
      {{"CHROMA_MIGRATE_FAULTS", "work.upsert=reject@1"}});
  EXPECT_EQ(run.exit_code, 5) << run.output;  // rejected: the archive's first write
  EXPECT_NE(run.output.find("archiv"), std::string::npos) << run.output;
  auto store = open_uri((*b)->url());
  auto found = store->find_collection("notes");
  ASSERT_TRUE(found && *found) << run.output;
  EXPECT_EQ((*found)->id, id) << "the collection was dropped although its archive failed";
  EXPECT_EQ(export_all(*store), before);
  // Without the fault the same command (same work dir) completes.
  auto again = run_process(CHROMA_ROLLBACK_BIN, {"--backup-path", backup.string(), "--restore-url",
                                                 (*b)->url(), "--work-dir", work.string()});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  auto restored = export_all(*open_uri((*b)->url()));
  EXPECT_EQ(restored["notes"].size(), 12u);
}

// The same-named collection takes a write while it is being archived (the binary is stopped right
// after the archive's write): it no longer equals what was archived, so it is not dropped (the
// copy's own check, exit 6, or the content proof before the drop, exit 9); its new record
// survives.
TEST_F(BackupRestore, ACollectionWrittenAfterItsArchiveIsNotDropped) {
  const fs::path backup = dir_ / "backup-snapshot";
  {
    auto snap = SnapshotStore::open(backup, SnapshotStore::Mode::kWrite);
    ASSERT_TRUE(snap) << snap.error().message;
    write_other(**snap, "notes", 12);
    ASSERT_TRUE((*snap)->flush());
  }
  auto b = ChromaServer::start();
  ASSERT_TRUE(b) << b.error().message;
  write_other(*open_uri((*b)->url()), "notes", 7);
  bool wrote = false;
  auto run = run_process(
      CHROMA_ROLLBACK_BIN,
      {"--backup-path", backup.string(), "--restore-url", (*b)->url(), "--work-dir",
       (dir_ / "work").string()},
      {{"CHROMA_MIGRATE_FAULTS", "work.upsert=stop@1"}}, [&](pid_t pid) {
        if (wrote) return;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), {});
        const auto close = text.rfind(')');
        if (close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'T')
          return;
        auto store = open_uri((*b)->url());
        auto info = store->find_collection("notes");
        if (info && *info) {
          Record late;
          late.id = "late";
          late.embedding = {9, 9, 9, 9};
          late.document = "written after the archive";
          wrote = store->upsert(**info, std::vector<Record>{late}).has_value();
        }
        kill(pid, SIGCONT);  // always: a stopped child would hang the test
      });
  ASSERT_TRUE(wrote) << run.output;
  // 6 when the archive's copy sees the count move, 9 when the proof before the drop sees the new
  // record: either way nothing is dropped.
  EXPECT_TRUE(run.exit_code == 6 || run.exit_code == 9) << run.output;
  auto after = export_all(*open_uri((*b)->url()));
  EXPECT_EQ(after["notes"].size(), 8u) << "the collection was dropped";
  EXPECT_TRUE(after["notes"].contains("late"));
}

}  // namespace
}  // namespace cm::testing
