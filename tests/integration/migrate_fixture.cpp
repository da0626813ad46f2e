#include "tests/integration/migrate_fixture.hpp"

#include <algorithm>

namespace cm::testing {

void MigrateIntegration::SetUpTestSuite() {
  auto source = ChromaServer::start();
  ASSERT_TRUE(source) << source.error().message;
  auto target = ChromaServer::start();
  ASSERT_TRUE(target) << target.error().message;
  source_server_ = std::move(*source);
  target_server_ = std::move(*target);
}

void MigrateIntegration::TearDownTestSuite() {
  source_server_.reset();
  target_server_.reset();
}

void MigrateIntegration::SetUp() {
  ASSERT_TRUE(source_server_ && target_server_) << "Chroma servers did not start";
  dir_ = make_temp_dir("migrate-it");
}

void MigrateIntegration::TearDown() {
  if (!HasFailure() && !std::getenv("CM_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_);
}

std::string MigrateIntegration::db_uri(const ChromaServer& server,
                                       const std::string& suffix) const {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '_');
  return server.url() + "?database=" + name + "_" + suffix;
}

std::unique_ptr<VectorStore> MigrateIntegration::open(const std::string& uri) const {
  auto parsed = parse_store_uri(uri);
  EXPECT_TRUE(parsed) << parsed.error().message;
  auto store = open_store(*parsed, StoreRole::kTarget, {});
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

void MigrateIntegration::seed_bystander() const {
  auto target = open(target_uri());
  ASSERT_TRUE(target);
  auto info = target->create_collection({"bystander", {}, {}, {}});
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(target->upsert(*info, std::vector<Record>{{"b1", {1, 2}, "kept", {}}}));
}

void MigrateIntegration::seed(const std::string& uri, const corpus::CorpusOptions& o) const {
  auto store = open(uri);
  ASSERT_TRUE(store);
  auto specs = corpus::collection_specs(o);
  for (std::size_t c = 0; c < specs.size(); ++c) {
    auto info = store->create_collection(specs[c]);
    ASSERT_TRUE(info) << info.error().message;
    const std::size_t n = corpus::records_in(o, c);
    for (std::size_t start = 0; start < n; start += 1000) {
      std::vector<Record> batch;
      for (std::size_t i = start; i < std::min(n, start + 1000); ++i)
        batch.push_back(corpus::make_record(o, c, i));
      auto status = store->upsert(*info, batch);
      ASSERT_TRUE(status) << status.error().message;
    }
  }
}

StoreState MigrateIntegration::state_of(const std::string& uri) const {
  auto store = open(uri);
  if (!store) return {};
  auto state = capture_state(*store);
  EXPECT_TRUE(state) << state.error().message;
  return state ? *state : StoreState{};
}

ProcessResult MigrateIntegration::migrate(const std::vector<std::string>& extra,
                                          const std::map<std::string, std::string>& env,
                                          const std::function<void(pid_t)>& while_running) const {
  std::vector<std::string> args{"--source",   source_uri(),        "--target",        target_uri(),
                                "--work-dir", work_dir().string(), "--retry-base-ms", "20"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(CHROMA_MIGRATE_BIN, args, env, while_running);
}

ProcessResult MigrateIntegration::cutover_script(const std::string& source,
                                                 const std::string& target,
                                                 const std::vector<std::string>& args,
                                                 std::map<std::string, std::string> env) const {
  std::vector<std::string> all{std::string(CM_SOURCE_DIR) + "/scripts/cutover.sh",
                               "--source",
                               source,
                               "--target",
                               target,
                               "--work-dir",
                               work_dir().string()};
  all.insert(all.end(), args.begin(), args.end());
  env["CHROMA_BIN_DIR"] = CM_BIN_DIR;
  return run_process("/bin/bash", all, env);
}

}  // namespace cm::testing
