// Per-store tokens through the whole cutover (issue 10, item 11), end to end: scripts/cutover.sh
// runs chroma-migrate, chroma-validate and then --cutover or chroma-rollback against two
// token-checking proxies, each in front of a real Chroma server (OSS Chroma here has no token auth
// of its own). The source proxy accepts only the source token, the target proxy only the target
// token: every step authenticates, each server is sent only its own token, and no token reaches
// the output or the work dir. One token (CHROMA_TOKEN) for two servers is refused by
// chroma-validate --source (exit 3) and chroma-rollback (exit 2; it checks the source is
// untouched) before either server is contacted.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/cli/exit_codes.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSourceToken = "src-tok-41c9e2";
const std::string kTargetToken = "dst-tok-9a07d5";
const std::string kSharedToken = "shared-tok-3be1f8";

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// "http://127.0.0.1:P?database=..." with the host:port of `proxy` instead.
std::string through(const FakeHttpServer& proxy, const std::string& uri) {
  return proxy.url() + uri.substr(uri.find('?'));
}

class CredentialsCycle : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 200;
    o.dimension = 8;
    seed(source_uri(), o);
    corpus::CorpusOptions old = o;
    old.total_records = 80;
    old.seed = 5;
    seed(target_uri(), old);
    ASSERT_TRUE(source_proxy_.ok() && target_proxy_.ok());
    source_proxy_.require_token(kSourceToken);
    target_proxy_.require_token(kTargetToken);
    source_proxy_.forward_to(source_uri().substr(0, source_uri().find('?')));
    target_proxy_.forward_to(target_uri().substr(0, target_uri().find('?')));
  }

  std::map<std::string, std::string> per_store_tokens() const {
    return {{"CHROMA_SOURCE_TOKEN", kSourceToken}, {"CHROMA_TARGET_TOKEN", kTargetToken}};
  }
  ProcessResult flow(const std::vector<std::string>& args) const {
    return cutover_script(through(source_proxy_, source_uri()),
                          through(target_proxy_, target_uri()), args, per_store_tokens());
  }

  // Each proxy saw requests, each with its own token only, and none was refused.
  void expect_each_server_saw_only_its_own_token(const ProcessResult& run) const {
    for (const auto& [proxy, own] :
         {std::pair{&source_proxy_, kSourceToken}, std::pair{&target_proxy_, kTargetToken}}) {
      const auto seen = proxy->requests();
      ASSERT_FALSE(seen.empty()) << own;
      for (const auto& req : seen) {
        ASSERT_TRUE(req.headers.contains("x-chroma-token")) << req.method << " " << req.path;
        EXPECT_EQ(req.headers.at("x-chroma-token"), own) << req.method << " " << req.path;
      }
    }
    for (const auto& token : {kSourceToken, kTargetToken}) {
      EXPECT_FALSE(contains(run.output, token)) << token;
      EXPECT_EQ(files_containing(work_dir(), token), std::vector<fs::path>{}) << token;
    }
    // "answered 401", not "401": a random port such as 40143 holds those digits.
    EXPECT_FALSE(contains(run.output, "answered 401")) << run.output;
  }

  FakeHttpServer source_proxy_;
  FakeHttpServer target_proxy_;
};

TEST_F(CredentialsCycle, StagedRunValidatesAndCutsOverWithPerStoreTokens) {
  auto run = flow({"--staged", "--", "--if-exists", "replace", "--batch-size", "50"});
  ASSERT_EQ(run.exit_code, kCutoverExitLive) << run.output;
  expect_each_server_saw_only_its_own_token(run);
  // Every step reached the target through its proxy: the swap renamed collections there.
  bool renamed = false;
  for (const auto& req : target_proxy_.requests()) renamed |= req.method == "PUT";
  EXPECT_TRUE(renamed);
}

TEST_F(CredentialsCycle, FailedRunIsRolledBackWithPerStoreTokens) {
  const auto before = state_of(target_uri());
  auto run = flow({"--inject-fault", "target.upsert=corrupt@2", "--", "--if-exists", "replace",
                   "--batch-size", "50"});
  ASSERT_EQ(run.exit_code, kCutoverExitRolledBack) << run.output;
  expect_each_server_saw_only_its_own_token(run);
  EXPECT_EQ(diff_text(before, state_of(target_uri()), false), "");
}

TEST_F(CredentialsCycle, OneTokenForTwoServersIsRefusedByValidateAndRollback) {
  ASSERT_EQ(run_process(CHROMA_MIGRATE_BIN,
                        {"--source", through(source_proxy_, source_uri()), "--target",
                         through(target_proxy_, target_uri()), "--work-dir", work_dir().string(),
                         "--if-exists", "replace"},
                        per_store_tokens())
                .exit_code,
            kExitOk);
  const std::size_t source_seen = source_proxy_.requests().size();
  const std::size_t target_seen = target_proxy_.requests().size();
  const std::map<std::string, std::string> shared{{"CHROMA_TOKEN", kSharedToken}};
  // chroma-validate compares with the live source only with --source (else with the run's
  // snapshot, and CHROMA_TOKEN goes to the one server it contacts).
  auto validate = run_process(
      CHROMA_VALIDATE_BIN,
      {"--work-dir", work_dir().string(), "--source", through(source_proxy_, source_uri())},
      shared);
  EXPECT_EQ(validate.exit_code, kValidateExitCouldNotRun) << validate.output;
  EXPECT_TRUE(contains(validate.output, "CHROMA_SOURCE_TOKEN")) << validate.output;
  auto rollback =
      run_process(CHROMA_ROLLBACK_BIN,
                  {"--work-dir", work_dir().string(), "--force", "--reason", "test"}, shared);
  EXPECT_EQ(rollback.exit_code, kExitUsage) << rollback.output;
  EXPECT_TRUE(contains(rollback.output, "CHROMA_SOURCE_TOKEN")) << rollback.output;
  for (const auto& out : {validate.output, rollback.output})
    EXPECT_FALSE(contains(out, kSharedToken));
  EXPECT_EQ(source_proxy_.requests().size(), source_seen) << "the source was contacted";
  EXPECT_EQ(target_proxy_.requests().size(), target_seen) << "the target was contacted";
}

}  // namespace
}  // namespace cm::testing
