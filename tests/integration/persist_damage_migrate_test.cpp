// A damaged copy of a directory the real Chroma 1.0.5 server wrote (the committed fixture
// tests/data/persist/conformance-1.0.5.tar.gz) as a chroma-migrate source, into a real server:
//   - by default the run refuses with exit 7 before anything is written (no work dir, no target
//     collection), naming the counts per collection, sample ids and --allow-missing-vectors;
//   - with --allow-missing-vectors it migrates every record whose vector survives (also the one
//     only the queue still holds) and lists the others as unrecoverable at the source in run.json,
//     unrecoverable_at_source.json and migration_summary.json;
//   - chroma-validate then PASSES (those records were never in the export) and shows the list.
// In gamma (ids id-0 .. id-24, l2) header.bin is damaged: 24 vectors are lost, id-24's survives in
// its queue row. In query_cosine length.bin keeps the norms of its first 10 elements only.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/persist/persist_store.hpp"
#include "common/run/store_factory.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/persist_test_util.hpp"

namespace cm::testing {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<VectorStore> target_store(const ChromaServer& server) {
  auto uri = parse_store_uri(server.url());
  EXPECT_TRUE(uri);
  auto store = open_store(*uri, StoreRole::kTarget, {});
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

class PersistDamageMigrate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("persist-damage-it");
    auto unpacked = persist_test::unpack_persist_fixture(dir_);
    ASSERT_TRUE(unpacked) << unpacked.error().message;
    persist_ = *unpacked;
    auto source = PersistStore::open(persist_, {.scratch_parent = dir_ / "scratch"});
    ASSERT_TRUE(source) << source.error().message;
    for (const char* name : {"gamma", "query_cosine"}) {
      auto info = (*source)->find_collection(name);
      ASSERT_TRUE(info && *info);
      auto health = (*source)->health(**info);
      ASSERT_TRUE(health);
      folders_[name] = persist_ / health->vector_segment;
    }
    source->reset();
    const auto header = folders_["gamma"] / "header.bin";
    persist_test::write_bytes(header, persist_test::read_bytes(header).substr(0, 99));
    const auto lengths = folders_["query_cosine"] / "length.bin";
    persist_test::write_bytes(lengths, persist_test::read_bytes(lengths).substr(0, 40));
    auto server = ChromaServer::start();
    ASSERT_TRUE(server) << server.error().message;
    target_ = std::move(*server);
  }
  void TearDown() override {
    target_.reset();
    if (!HasFailure() && !std::getenv("CM_KEEP_TEST_DIRS")) fs::remove_all(dir_);
  }
  ProcessResult migrate(const fs::path& work, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--source",   "persist:" + persist_.string(),
                                  "--target",   target_->url(),
                                  "--work-dir", work.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(CHROMA_MIGRATE_BIN, args);
  }

  fs::path dir_, persist_;
  std::map<std::string, fs::path> folders_;
  std::unique_ptr<ChromaServer> target_;
};

TEST_F(PersistDamageMigrate, RefusesByDefaultThenMigratesTheRestAndValidatesWithTheList) {
  const auto before = directory_digest(persist_);
  const fs::path refused_work = dir_ / "refused";
  auto refused = migrate(refused_work);
  EXPECT_EQ(refused.exit_code, 7) << refused.output;
  for (const char* expected : {"73 record(s)", "gamma: 24 (e.g. id-", "query_cosine: 49 (e.g. q-",
                               "--allow-missing-vectors", "Nothing was written"}) {
    EXPECT_NE(refused.output.find(expected), std::string::npos) << expected << "\n"
                                                                << refused.output;
  }
  EXPECT_FALSE(fs::exists(refused_work / "run.json")) << "refused before the work dir was used";
  auto target = target_store(*target_);
  ASSERT_TRUE(target);
  EXPECT_TRUE(target->list_collections()->empty()) << "refused before the target was written";

  const fs::path work = dir_ / "work";
  auto allowed = migrate(work, {"--allow-missing-vectors"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("unrecoverable at the source"), std::string::npos)
      << allowed.output;
  const auto run = read_json(work / "run.json");
  ASSERT_TRUE(run.is_object());
  const auto& recorded = run["unrecoverable_at_source"];
  EXPECT_EQ(recorded["total"], 73);
  EXPECT_EQ(recorded["collections"]["gamma"]["count"], 24);
  EXPECT_EQ(recorded["collections"]["query_cosine"]["count"], 49);
  EXPECT_EQ(read_json(work / "migration_summary.json")["unrecoverable_at_source"], recorded);
  const auto listed = read_json(work / "unrecoverable_at_source.json");
  ASSERT_EQ(listed["gamma"].size(), 24u);
  for (const auto& id : listed["gamma"]) EXPECT_NE(id.get<std::string>(), "id-24");

  // The target holds every record whose vector survived, and none of the listed ones.
  auto gamma = target->find_collection("gamma");
  ASSERT_TRUE(gamma && *gamma);
  EXPECT_EQ(*target->count(**gamma), 1u) << "id-24, from its queue row";
  std::vector<std::string> wanted{"id-24", "id-3"};
  auto got = target->get_records(**gamma, wanted);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, "id-24");
  auto cosine = target->find_collection("query_cosine");
  ASSERT_TRUE(cosine && *cosine);
  EXPECT_EQ(*target->count(**cosine), 11u) << "10 from the segment, q-59 from the queue";

  auto validate = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work.string(), "--source",
                                                    "persist:" + persist_.string()});
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  EXPECT_NE(validate.output.find("PASSED"), std::string::npos) << validate.output;
  EXPECT_NE(validate.output.find("unrecoverable at the source (lost before the run, not "
                                 "migrated): gamma: 24 record(s), e.g. id-"),
            std::string::npos)
      << validate.output;
  const auto report = read_json(work / "validation_report.json");
  EXPECT_EQ(report["unrecoverable_at_source"], recorded);
  std::ifstream md(work / "validation_report.md");
  const std::string markdown((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(markdown.find("## Unrecoverable at the source"), std::string::npos);
  EXPECT_EQ(directory_digest(persist_), before) << "chroma-migrate wrote into the source";
}

// --inspect needs no work dir and covers every collection; its JSON goes to --report, or to
// ./persist_inspect.json; exit 7 because records are unrecoverable. A --dry-run plan carries the
// same figures for the collections it reads.
TEST_F(PersistDamageMigrate, InspectAndTheDryRunPlanShowTheHealth) {
  const auto before = directory_digest(persist_);
  const fs::path report = dir_ / "health.json";
  auto inspect = run_process(
      CHROMA_MIGRATE_BIN,
      {"--inspect", "--source", "persist:" + persist_.string(), "--report", report.string()});
  EXPECT_EQ(inspect.exit_code, 7) << inspect.output;
  for (const char* expected :
       {"default_tenant/default_database/gamma", "UNRECOVERABLE", "is 99 bytes, expected 100",
        "73 record(s) have no vector left anywhere", "report written to"}) {
    EXPECT_NE(inspect.output.find(expected), std::string::npos) << expected << "\n"
                                                                << inspect.output;
  }
  const auto json = read_json(report);
  ASSERT_TRUE(json.is_object()) << inspect.output;
  EXPECT_EQ(json["unrecoverable"], 73);
  EXPECT_EQ(json["every_vector_recoverable"], false);
  ASSERT_EQ(json["collections"].size(), 13u);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& c : json["collections"]) by_name[c["collection"]] = c;
  EXPECT_EQ(by_name["gamma"]["unrecoverable"], 24);
  EXPECT_EQ(by_name["gamma"]["vectors_recovered_from_queue"], 1);
  EXPECT_EQ(by_name["query_cosine"]["segment_vectors"], 10);
  EXPECT_EQ(by_name["epsilon"]["vectors_in_queue"], 23) << "never persisted: all in the queue";
  EXPECT_EQ(by_name["query_l2"]["every_vector_recoverable"], true);

  // The default report path is the working directory's persist_inspect.json.
  const fs::path cwd = dir_ / "cwd";
  fs::create_directories(cwd);
  auto in_cwd =
      run_process("/bin/sh", {"-c", "cd '" + cwd.string() + "' && " + CHROMA_MIGRATE_BIN +
                                        " --inspect --source persist:" + persist_.string()});
  EXPECT_EQ(in_cwd.exit_code, 7) << in_cwd.output;
  EXPECT_EQ(read_json(cwd / "persist_inspect.json")["unrecoverable"], 73);

  const fs::path work = dir_ / "dry";
  auto dry = migrate(work, {"--dry-run", "--collections", "gamma,query_l2"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  const auto plan = read_json(work / "plan.json");
  ASSERT_EQ(plan["source_health"].size(), 2u);
  EXPECT_EQ(plan["source_health"][0]["collection"], "gamma");
  EXPECT_EQ(plan["source_health"][0]["unrecoverable"], 24);
  EXPECT_EQ(plan["unrecoverable_at_source"]["total"], 24);
  std::ifstream md(work / "plan.md");
  const std::string markdown((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(markdown.find("24 record(s) have no vector left anywhere"), std::string::npos);
  // Executing that plan still needs the flag.
  auto resumed = migrate(work, {"--resume", "--collections", "gamma,query_l2"});
  EXPECT_EQ(resumed.exit_code, 7) << resumed.output;
  EXPECT_NE(resumed.output.find("--allow-missing-vectors"), std::string::npos) << resumed.output;
  EXPECT_EQ(directory_digest(persist_), before);
}

}  // namespace
}  // namespace cm::testing
