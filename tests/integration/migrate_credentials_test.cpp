// Issue 10, items 11 and 12 end to end with the real chroma-migrate binary: per-store tokens
// (token-checking fake servers record what each received; a real OSS server ignores auth, so the
// real-server runs prove only that per-store tokens do not break a migration), the refusal of one
// token for two servers, no token anywhere in the work dir, and owner-only modes of the work dir.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSourceToken = "src-tok-7f3a9c";
const std::string kTargetToken = "dst-tok-b21e44";
const std::string kSharedToken = "shared-tok-5d8e0f";

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Every file or directory under `dir` (and `dir` itself) with a group or other permission bit.
std::vector<std::string> readable_by_others(const fs::path& dir) {
  std::vector<std::string> out;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    if (S_ISLNK(st.st_mode)) return;
    if (st.st_mode & 077) out.push_back(p.string() + " " + std::to_string(st.st_mode & 0777));
  };
  check(dir);
  for (const auto& e : fs::recursive_directory_iterator(dir)) check(e.path());
  return out;
}

class CredentialsIntegration : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 300;
    o.collections = 2;
    o.dimension = 8;
    seed(source_uri(), o);
  }
};

TEST_F(CredentialsIntegration, PerStoreTokensRealServersNoTokenInWorkDirOwnerOnlyModes) {
  // The operator's umask is permissive; the run must not be.
  const mode_t old = ::umask(022);
  auto r = migrate({"--verbose"}, {{"CHROMA_SOURCE_TOKEN", kSourceToken},
                                   {"CHROMA_TARGET_TOKEN", kTargetToken},
                                   {"CHROMA_TOKEN", kSharedToken}});
  ::umask(old);
  ASSERT_EQ(r.exit_code, kExitOk) << r.output;
  EXPECT_EQ(diff_text(state_of(source_uri()), state_of(target_uri())), "");
  for (const auto& token : {kSourceToken, kTargetToken, kSharedToken}) {
    EXPECT_FALSE(contains(r.output, token)) << token;
    EXPECT_EQ(files_containing(work_dir(), token), std::vector<fs::path>{}) << token;
  }
  EXPECT_EQ(readable_by_others(work_dir()), std::vector<std::string>{});
  EXPECT_TRUE(fs::exists(work_dir() / "run.json"));
  EXPECT_TRUE(fs::exists(work_dir() / "audit.jsonl"));
}

TEST_F(CredentialsIntegration, OperatorCreatedWorkDirIsMadeOwnerOnly) {
  fs::create_directories(work_dir());
  ::chmod(work_dir().c_str(), 0755);
  auto r = migrate({});
  ASSERT_EQ(r.exit_code, kExitOk) << r.output;
  EXPECT_TRUE(contains(r.output, "made it 0700")) << r.output;
  EXPECT_EQ(readable_by_others(work_dir()), std::vector<std::string>{});
}

TEST_F(CredentialsIntegration, SharedTokenForTwoServersIsRefusedBeforeAnything) {
  // The fixture's source and target are two servers (two ports).
  auto r = migrate({}, {{"CHROMA_TOKEN", kSharedToken}});
  EXPECT_EQ(r.exit_code, kExitUsage) << r.output;
  EXPECT_TRUE(contains(r.output, "CHROMA_SOURCE_TOKEN and CHROMA_TARGET_TOKEN")) << r.output;
  EXPECT_FALSE(contains(r.output, kSharedToken));
  EXPECT_FALSE(fs::exists(work_dir()));
  EXPECT_TRUE(state_of(target_uri()).empty());
}

TEST_F(CredentialsIntegration, SharedTokenOnOneServerKeepsWorking) {
  // Source and target databases on the same server: one origin, CHROMA_TOKEN goes to it.
  corpus::CorpusOptions o;
  o.total_records = 120;
  o.collections = 1;
  o.dimension = 8;
  const std::string same_host_source = target_uri("src_same_host");
  seed(same_host_source, o);
  auto r = run_process(CHROMA_MIGRATE_BIN,
                       {"--source", same_host_source, "--target", target_uri(), "--work-dir",
                        work_dir().string(), "--retry-base-ms", "20"},
                       {{"CHROMA_TOKEN", kSharedToken}});
  ASSERT_EQ(r.exit_code, kExitOk) << r.output;
  EXPECT_EQ(diff_text(state_of(same_host_source), state_of(target_uri())), "");
  EXPECT_EQ(files_containing(work_dir(), kSharedToken), std::vector<fs::path>{});
}

// Token-checking fakes: the source requires token A, the target token B. Each must only ever
// see its own token; neither sees CHROMA_TOKEN.
TEST_F(CredentialsIntegration, TokenCheckingFakesEachSeeOnlyTheirOwnToken) {
  const std::string preflight = R"({"max_batch_size": 100})";
  FakeHttpServer source_server({{200, preflight, std::chrono::milliseconds(0), false}});
  FakeHttpServer target_server({{200, preflight, std::chrono::milliseconds(0), false}});
  ASSERT_TRUE(source_server.ok() && target_server.ok());
  source_server.require_token(kSourceToken);
  target_server.require_token(kTargetToken);
  source_server.set_fallback({200, "[]", std::chrono::milliseconds(0), false});
  target_server.set_fallback({200, "[]", std::chrono::milliseconds(0), false});
  auto r =
      run_process(CHROMA_MIGRATE_BIN,
                  {"--source", source_server.url(), "--target", target_server.url(), "--work-dir",
                   work_dir().string(), "--retry-base-ms", "20", "--max-attempts", "1"},
                  {{"CHROMA_SOURCE_TOKEN", kSourceToken},
                   {"CHROMA_TARGET_TOKEN", kTargetToken},
                   {"CHROMA_TOKEN", kSharedToken}});
  EXPECT_NE(r.exit_code, kExitUsage) << r.output;
  // Both authenticated ("answered 401", not "401": a random port such as 40143 holds those digits).
  EXPECT_FALSE(contains(r.output, "answered 401")) << r.output;
  for (const auto& [server, own] :
       {std::pair{&source_server, kSourceToken}, std::pair{&target_server, kTargetToken}}) {
    const auto seen = server->requests();
    ASSERT_FALSE(seen.empty()) << own;
    for (const auto& req : seen) {
      ASSERT_TRUE(req.headers.contains("x-chroma-token")) << req.path;
      EXPECT_EQ(req.headers.at("x-chroma-token"), own) << req.path;
      EXPECT_EQ(req.headers.at("authorization"), "Bearer " + own) << req.path;
      for (const auto& [name, value] : req.headers) {
        for (const auto& other : {kSourceToken, kTargetToken, kSharedToken}) {
          if (other != own) {
            EXPECT_FALSE(contains(value, other)) << name;
          }
        }
      }
    }
  }
  if (fs::exists(work_dir())) {
    for (const auto& token : {kSourceToken, kTargetToken, kSharedToken}) {
      EXPECT_EQ(files_containing(work_dir(), token), std::vector<fs::path>{}) << token;
    }
  }
}

TEST_F(CredentialsIntegration, TokenCheckingFakesRefusalContactsNeither) {
  FakeHttpServer source_server;
  FakeHttpServer target_server;
  ASSERT_TRUE(source_server.ok() && target_server.ok());
  auto r = run_process(CHROMA_MIGRATE_BIN,
                       {"--source", source_server.url(), "--target", target_server.url(),
                        "--work-dir", work_dir().string()},
                       {{"CHROMA_TOKEN", kSharedToken}, {"CHROMA_TARGET_TOKEN", kTargetToken}});
  EXPECT_EQ(r.exit_code, kExitUsage) << r.output;
  EXPECT_TRUE(contains(r.output, "Set CHROMA_SOURCE_TOKEN (")) << r.output;
  EXPECT_TRUE(source_server.requests().empty());
  EXPECT_TRUE(target_server.requests().empty());
  EXPECT_FALSE(fs::exists(work_dir()));
}

// A work dir on a 64 KiB tmpfs (needs CAP_SYS_ADMIN; skipped without): the 300 records need more
// than that, so the run refuses before the export with exit 8 and both figures, and writes
// nothing to the work dir or the target.
TEST_F(CredentialsIntegration, TooSmallWorkDirFileSystemIsRefusedBeforeTheExport) {
  const fs::path small = dir_ / "small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN)";
  }
  const fs::path work = small / "work";
  auto r = run_process(CHROMA_MIGRATE_BIN, {"--source", source_uri(), "--target", target_uri(),
                                            "--work-dir", work.string()});
  EXPECT_EQ(r.exit_code, kExitIo) << r.output;
  EXPECT_TRUE(contains(r.output, "available but the run needs about")) << r.output;
  EXPECT_TRUE(contains(r.output, "65536 bytes")) << r.output;
  EXPECT_FALSE(fs::exists(work));
  EXPECT_TRUE(state_of(target_uri()).empty());
  ::umount2(small.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace cm::testing
