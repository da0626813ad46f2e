// Safety: interlocks, dry run, contract preflight/postflight, existing target collections with
// backup, and the audit log — each against real servers, each proving what was (not) written.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "common/cli/exit_codes.hpp"
#include "common/snapshot/snapshot_store.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::vector<nlohmann::json> audit_lines(const std::filesystem::path& work) {
  std::vector<nlohmann::json> out;
  std::ifstream in(work / "audit.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class SafetyIntegration : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 400;
    o.collections = 2;  // kb_articles (cosine), support_tickets (l2)
    o.dimension = 8;
    seed(source_uri(), o);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    EXPECT_TRUE(write_file_atomic(path, text));
    return path;
  }
};

TEST_F(SafetyIntegration, WorkingTargetNeedsTheExactConfirmation) {
  auto refused = migrate({"--target-env", "working"}, {{"MIGRATION_CONFIRM", "yes"}});
  EXPECT_EQ(refused.exit_code, kExitRefused) << refused.output;
  EXPECT_TRUE(contains(refused.output, "MIGRATION_CONFIRM=I_ACKNOWLEDGE_WORKING_MUTATION"))
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(work_dir()));
  EXPECT_TRUE(state_of(target_uri()).empty());

  auto allowed = migrate({"--target-env", "working"},
                         {{"MIGRATION_CONFIRM", "I_ACKNOWLEDGE_WORKING_MUTATION"}});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_TRUE(contains(allowed.output, "WORKING target")) << allowed.output;
  EXPECT_EQ(nlohmann::json::parse(*read_file(work_dir() / "run.json"))["target_kind"], "working");
}

TEST_F(SafetyIntegration, TestRunPointedAtAWorkingUriIsRefused) {
  auto server = target_uri().substr(0, target_uri().find('?'));
  auto targets = write("targets.json", nlohmann::json{{"working", {server}}}.dump());
  auto refused = migrate({"--targets-file", targets.string()});  // --target-env defaults to test
  EXPECT_EQ(refused.exit_code, kExitRefused) << refused.output;
  EXPECT_TRUE(contains(refused.output, "listed as working")) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(work_dir()));
  auto env_refused =
      migrate({}, {{"MIGRATION_TARGETS_FILE", targets.string()}, {"MIGRATION_TARGET", "test"}});
  EXPECT_EQ(env_refused.exit_code, kExitRefused) << env_refused.output;
}

TEST_F(SafetyIntegration, DryRunWritesNothingToTheTargetThenResumeExecutesThePlan) {
  // A pre-existing target collection (to be merged) must survive the dry run untouched too.
  auto target = open(target_uri());
  CollectionSpec spec{"kb_articles", {{"owner", std::string("ops")}}, {}, {}};
  spec.hnsw.space = "cosine";
  auto existing = target->create_collection(spec);
  ASSERT_TRUE(existing);
  ASSERT_TRUE(target->upsert(
      *existing, std::vector<Record>{
                     {"keep-me", std::vector<float>(8, 0.5f), "kept", {{"x", std::int64_t{1}}}}}));
  auto before = state_of(target_uri());

  auto dry = migrate({"--dry-run", "--if-exists", "merge"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(diff_states(before, state_of(target_uri())).empty()) << "a dry run must not write";
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "audit.jsonl")) << "no mutation, no audit line";
  auto plan = nlohmann::json::parse(*read_file(work_dir() / "plan.json"));
  EXPECT_EQ(plan["targets"].size(), 2u);
  EXPECT_EQ(plan["samples"].size(), 3u);
  EXPECT_GT(plan["export"]["records_per_second"].get<double>(), 0);
  EXPECT_TRUE(std::filesystem::exists(work_dir() / "plan.md"));
  auto plan_page = read_file(work_dir() / "plan.html");
  ASSERT_TRUE(plan_page) << "the plan's page beside plan.json";
  EXPECT_NE(plan_page->find("<svg id=\"plan-records\""), std::string::npos);

  auto real = migrate({"--if-exists", "merge", "--resume"});
  ASSERT_EQ(real.exit_code, 0) << real.output;
  auto after = state_of(target_uri());
  EXPECT_EQ(after.at("kb_articles").count, 201u) << "200 migrated + the record that was there";
}

TEST_F(SafetyIntegration, PreflightRefusesWithAReadableDiffAndNoWritesThenDriftCanBeAllowed) {
  auto contract = write("contract.json", R"({
    "contract_version": "9.1", "embedding_dimension": 8, "space": "cosine",
    "collections": {"kb_articles": {}, "support_tickets": {}},
    "fields": {"doc_id": {"type": "int", "required": true}, "must_have": {"type": "string", "required": true}}
  })");
  auto refused = migrate({"--contract", contract.string()});
  EXPECT_EQ(refused.exit_code, kExitContractViolation) << refused.output;
  EXPECT_TRUE(contains(refused.output, "must_have")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "doc_id")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "support_tickets")) << "l2 vs cosine must be named\n"
                                                           << refused.output;
  EXPECT_TRUE(state_of(target_uri()).empty()) << "preflight refusal writes nothing to the target";

  auto allowed = migrate({"--contract", contract.string(), "--allow-contract-drift", "--resume"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.output;
  auto run = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
  ASSERT_GE(run["contract_overrides"].size(), 2u)
      << "preflight and postflight overrides are recorded";
  EXPECT_EQ(run["contract_overrides"][0]["stage"], "preflight");
  bool audited = false;
  for (const auto& line : audit_lines(work_dir()))
    audited |= line["action"] == "contract_drift_override";
  EXPECT_TRUE(audited);
}

TEST_F(SafetyIntegration, PostflightCatchesRecordsThatLandedBroken) {
  // Records already in a merged collection violate the contract: only the postflight can see them.
  auto target = open(target_uri());
  CollectionSpec spec{"support_tickets", {}, {}, {}};
  auto existing = target->create_collection(spec);
  ASSERT_TRUE(existing);
  ASSERT_TRUE(target->upsert(
      *existing,
      std::vector<Record>{
          {"legacy-1", std::vector<float>(8, 0.25f), "old", {{"lang", std::int64_t{7}}}}}));
  auto contract = write("contract.json", R"({"contract_version": "1.0", "embedding_dimension": 8,
    "collections": {"kb_articles": {"space": "cosine"}, "support_tickets": {"space": "l2"}},
    "fields": {"lang": {"type": "string"}}})");
  auto run = migrate({"--contract", contract.string(), "--if-exists", "merge"});
  EXPECT_EQ(run.exit_code, kExitContractViolation) << run.output;
  EXPECT_TRUE(contains(run.output, "postflight")) << run.output;
  EXPECT_TRUE(contains(run.output, "legacy-1")) << run.output;
}

TEST_F(SafetyIntegration, ReplaceBacksUpVerifiesThenRecreatesAndAuditsEveryMutation) {
  auto target = open(target_uri());
  CollectionSpec spec{"support_tickets", {{"old", true}}, {}, {}};
  spec.hnsw.space = "ip";  // wrong space: replace recreates it with the source's l2
  auto existing = target->create_collection(spec);
  ASSERT_TRUE(existing);
  ASSERT_TRUE(target->upsert(*existing,
                             std::vector<Record>{{"stale", std::vector<float>(8, 1.0f), "x", {}}}));
  auto source = state_of(source_uri());

  auto run = migrate({"--if-exists", "replace", "--batch-size", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto after = state_of(target_uri());
  EXPECT_TRUE(diff_states(source, after).empty()) << "replaced collections equal the source";
  // The backup holds the replaced collection as it was, and verifies.
  auto backup =
      SnapshotStore::open(work_dir() / "snapshots" / "backup", SnapshotStore::Mode::kRead);
  ASSERT_TRUE(backup) << backup.error().message;
  auto report = (*backup)->verify();
  ASSERT_TRUE(report && report->ok());
  auto saved = (*backup)->find_collection("support_tickets");
  ASSERT_TRUE(saved && *saved);
  EXPECT_EQ((*saved)->hnsw.space, "ip");
  EXPECT_EQ(*(*backup)->count(**saved), 1u);
  EXPECT_TRUE(
      nlohmann::json::parse(*read_file(work_dir() / "run.json"))["backup"].contains("verified_at"));

  // Audit: one line per mutating call, with every field; upserted records add up.
  std::uint64_t upserted = 0;
  std::set<std::string> actions;
  for (const auto& line : audit_lines(work_dir())) {
    for (const char* key :
         {"time", "run_id", "actor", "action", "collection", "records", "outcome"}) {
      EXPECT_TRUE(line.contains(key)) << line.dump();
    }
    actions.insert(line["action"].get<std::string>());
    if (line["action"] == "upsert") upserted += line["records"].get<std::uint64_t>();
  }
  EXPECT_EQ(upserted, 400u);
  EXPECT_TRUE(actions.contains("delete_collection"));
  EXPECT_TRUE(actions.contains("create_collection"));
}

TEST_F(SafetyIntegration, MergeKeepsForeignRecordsAndRewritesExistingOnesExactly) {
  auto target = open(target_uri());
  CollectionSpec spec{"kb_articles", {}, {}, {}};
  spec.hnsw.space = "cosine";
  auto existing = target->create_collection(spec);
  ASSERT_TRUE(existing);
  auto source = state_of(source_uri());
  Record overlap = source.at("kb_articles").records.front();
  overlap.metadata["stale_key"] = std::string("must disappear");
  ASSERT_TRUE(target->upsert(
      *existing, std::vector<Record>{overlap, {"foreign", std::vector<float>(8, 0.5f), "f", {}}}));

  auto run = migrate({"--if-exists", "merge"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto after = state_of(target_uri());
  EXPECT_EQ(after.at("kb_articles").count, source.at("kb_articles").count + 1);
  for (const auto& r : after.at("kb_articles").records) {
    EXPECT_FALSE(r.metadata.contains("stale_key")) << r.id << ": upsert merged a stale key";
  }
  EXPECT_TRUE(std::any_of(after.at("kb_articles").records.begin(),
                          after.at("kb_articles").records.end(),
                          [](const Record& r) { return r.id == "foreign"; }));
}

}  // namespace
}  // namespace cm::testing
