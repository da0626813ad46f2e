// chroma-validate with no chroma-migrate run behind it: the seed runbook's command line as written
// (--old-db-url, --new-db-url, --test-queries, --output, --verbose), on a target that a plain
// loader (not chroma-migrate) filled from a real source server.
//   - the faithful copy validates PASSED, and the temporary work dir is gone afterwards;
//   - the same target with 6% of one collection deleted is FAILED, "Data Loss Detected";
//   - with --work-dir the reference is kept, and the directory is then a run chroma-validate
//     --work-dir can validate again;
//   - bad input (no run and no --source) could not run (3), nothing written.
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/files.hpp"

namespace cm::testing {
namespace {

// What an operator's own loader does: every collection created with the source's name, metadata
// and space, every record copied by id through the HTTP API.
void plain_copy(VectorStore& from, VectorStore& to) {
  auto collections = from.list_collections();
  ASSERT_TRUE(collections) << collections.error().message;
  for (const auto& c : *collections) {
    auto created = to.create_collection({.name = c.name, .metadata = c.metadata, .hnsw = c.hnsw});
    ASSERT_TRUE(created) << created.error().message;
    for (std::uint64_t offset = 0;; offset += 500) {
      auto ids = from.list_ids(c, offset, 500);
      ASSERT_TRUE(ids) << ids.error().message;
      auto records = from.get_records(c, *ids);
      ASSERT_TRUE(records) << records.error().message;
      ASSERT_TRUE(to.upsert(*created, *records));
      if (ids->size() < 500) break;
    }
  }
}

bool leftover_temp_dirs() {
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::current_path())) {
    if (e.path().filename().string().rfind("chroma-validate-", 0) == 0) return true;
  }
  return false;
}

class ValidateStandalone : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 2400;  // queries/sample_test_queries.json needs 2,000
    seed(source_uri(), o);
    auto from = open(source_uri());
    auto to = open(target_uri());
    ASSERT_TRUE(from && to);
    plain_copy(*from, *to);
  }

  ProcessResult validate_as_in_the_runbook(const std::filesystem::path& output) const {
    return run_process(CHROMA_VALIDATE_BIN,
                       {"--old-db-url", source_uri(), "--new-db-url", target_uri(),
                        "--test-queries", CM_SOURCE_DIR "/queries/sample_test_queries.json",
                        "--output", output.string(), "--verbose"});
  }
};

TEST_F(ValidateStandalone, APlainLoadersCopyPassesAndSixPercentDeletedFails) {
  const auto output = dir_ / "validation_report.md";
  auto good = validate_as_in_the_runbook(output);
  EXPECT_EQ(good.exit_code, 0) << good.output;
  ASSERT_TRUE(std::filesystem::exists(output)) << good.output;
  const auto report = read_json(dir_ / "validation_report.json");
  ASSERT_TRUE(report.is_object()) << good.output;
  EXPECT_EQ(report["overall_status"], "PASSED") << report.dump(1);
  EXPECT_EQ(report["tests"].size(), 8u);
  EXPECT_FALSE(leftover_temp_dirs()) << "the temporary work dir outlived the validation";

  // 6% of support_tickets deleted on the target: data loss, FAILED, rollback reason.
  auto target = open(target_uri());
  ASSERT_TRUE(target);
  auto tickets = target->find_collection("support_tickets");
  ASSERT_TRUE(tickets && *tickets);
  const auto count = target->count(**tickets);
  ASSERT_TRUE(count);
  auto ids = target->list_ids(**tickets, 0, static_cast<std::uint32_t>(*count * 6 / 100));
  ASSERT_TRUE(ids);
  ASSERT_TRUE(target->delete_records(**tickets, *ids));
  auto bad = validate_as_in_the_runbook(output);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("Data Loss Detected"), std::string::npos) << bad.output;
  const auto failed = read_json(dir_ / "validation_report.json");
  EXPECT_EQ(failed["overall_status"], "FAILED");
  EXPECT_TRUE(failed["rollback_triggered"].get<bool>());
  const auto& count_test = failed["tests"][0];
  EXPECT_EQ(count_test["figures"]["data_loss_worst_collection"], "support_tickets")
      << count_test.dump(1);
  EXPECT_LT(count_test["figures"]["data_loss_percentage_overall"].get<double>(), 5.0)
      << "the whole migration lost less than the threshold; the one collection more";
}

TEST_F(ValidateStandalone, AKeptWorkDirIsARunThatValidatesAgain) {
  const auto kept = dir_ / "kept";
  auto first = run_process(CHROMA_VALIDATE_BIN, {"--source", source_uri(), "--target", target_uri(),
                                                 "--work-dir", kept.string()});
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(std::filesystem::exists(kept / "validation_report.json")) << first.output;
  auto again =
      run_process(CHROMA_VALIDATE_BIN, {"--work-dir", kept.string(), "--target", target_uri()});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  // The directory now holds a run: --mapping (a standalone input) is refused for it.
  auto reuse = run_process(CHROMA_VALIDATE_BIN,
                           {"--work-dir", kept.string(), "--mapping", (dir_ / "m.json").string()});
  EXPECT_EQ(reuse.exit_code, 3) << reuse.output;
  EXPECT_NE(reuse.output.find("holds a run"), std::string::npos) << reuse.output;
}

TEST_F(ValidateStandalone, WithoutARunOrASourceItCannotRun) {
  auto no_source = run_process(
      CHROMA_VALIDATE_BIN, {"--new-db-url", target_uri(), "--output", (dir_ / "r.md").string()});
  EXPECT_EQ(no_source.exit_code, 3) << no_source.output;
  EXPECT_NE(no_source.output.find("--source and --target"), std::string::npos) << no_source.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "r.md"));
  auto not_md = run_process(
      CHROMA_VALIDATE_BIN,
      {"--source", source_uri(), "--target", target_uri(), "--output", (dir_ / "r.txt").string()});
  EXPECT_EQ(not_md.exit_code, 3) << not_md.output;
  EXPECT_FALSE(leftover_temp_dirs());
}

}  // namespace
}  // namespace cm::testing
