// chroma-validate against real servers: a clean migration (mapping to l2, cosine and ip
// collections, with a contract) validates PASSED with no warnings; then one fault at a time,
// injected directly into the target through the HTTP store after migrating, is caught by the right
// test with the right status and rollback reason. Reports must parse and agree with the exit code.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/migrate_fixture.hpp"
#include "tests/support/files.hpp"
#include "tests/support/html_checks.hpp"

namespace cm::testing {
namespace {

struct Validation {
  ProcessResult process;
  nlohmann::json report;  // null when no report was written
  std::string status(const std::string& test) const {
    for (const auto& t : report["tests"]) {
      if (t["name"] == test) return t["status"];
    }
    return "(no such test)";
  }
  bool has_reason(const std::string& reason) const {
    const auto& r = report["rollback_reasons"];
    return std::find(r.begin(), r.end(), reason) != r.end();
  }
  std::string why() const { return process.output + "\n" + report.dump(2); }
};

class ValidateIntegration : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records =
        320;  // 80 per collection: kb_articles, legal_clauses (cosine), support (l2), product (ip)
    o.dimension = 16;
    seed(source_uri(), o);
  }

  // The demo mapping and contract (contracts/examples), the contract at this corpus' dimension.
  void migrate_with_mapping() {
    write_example_contract(dir_ / "contract.json", 16);
    auto run = migrate({"--mapping",
                        std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json",
                        "--contract", (dir_ / "contract.json").string(), "--batch-size", "50"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }

  Validation validate(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--work-dir", work_dir().string(), "--sample", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    Validation v;
    v.process = run_process(CHROMA_VALIDATE_BIN, args);
    auto text = read_file(work_dir() / "validation_report.json");
    if (text) v.report = nlohmann::json::parse(*text);
    return v;
  }

  // The verdict is FAILED, exit 2, with `test` FAILED and `reason` among the rollback reasons.
  void expect_caught(const Validation& v, const std::string& test, const std::string& reason) {
    EXPECT_EQ(v.process.exit_code, 2) << v.why();
    ASSERT_TRUE(v.report.is_object()) << v.process.output;
    EXPECT_EQ(v.report["overall_status"], "FAILED");
    EXPECT_TRUE(v.report["rollback_triggered"].get<bool>());
    EXPECT_EQ(v.status(test), "FAILED") << v.why();
    EXPECT_TRUE(v.has_reason(reason)) << v.report["rollback_reasons"].dump();
  }

  // validation_report.html beside the JSON: self-contained, the verdict at the top, one recall plot
  // per judged source collection and the records per target collection as the JSON has them.
  void expect_page_agrees(const Validation& v, const std::filesystem::path& html_path) {
    auto html = read_file(html_path);
    ASSERT_TRUE(html) << html_path;
    EXPECT_EQ(external_references(*html), std::vector<std::string>{});
    const auto status = v.report["overall_status"].get<std::string>();
    EXPECT_NE(html->find("id=\"overall-status\">" + status + "<"), std::string::npos);
    for (const auto& reason : v.report["rollback_reasons"])
      EXPECT_NE(html->find(reason.get<std::string>()), std::string::npos) << reason;
    std::size_t recall_plots = 0;
    for (const auto& t : v.report["tests"]) {
      if (t["name"] == "semantic_search_equivalence") {
        // One plot per source collection, in the JSON's order, with its histogram's counts.
        for (const auto& [name, c] : t["figures"]["collections"].items()) {
          if (!c.contains("recall_histogram")) continue;
          const auto plot = svg_with_id(*html, "recall-" + std::to_string(recall_plots++));
          ASSERT_TRUE(plot) << name;
          EXPECT_NE(plot->find(" of " + name + " ("), std::string::npos) << name;
          const auto& counts = c["recall_histogram"]["counts"];
          EXPECT_EQ(data_values(*plot, "0.9\u20131.0"),
                    (std::vector<double>{counts[9].get<double>()}));
        }
      }
      if (t["name"] != "count_verification") continue;
      const auto counts = svg_with_id(*html, "count-records");
      ASSERT_TRUE(counts);
      for (const auto& [name, c] : t["figures"]["collections"].items()) {
        EXPECT_EQ(data_values(*counts, name),
                  (std::vector<double>{c["expected"].get<double>(), c["actual"].get<double>()}))
            << name;
      }
    }
    EXPECT_GT(recall_plots, 0u) << "semantic search judged queries: its recall is plotted";
    EXPECT_TRUE(svg_with_id(*html, "embedding-errors"));
    EXPECT_TRUE(svg_with_id(*html, "test-seconds"));
    EXPECT_NE(v.process.output.find("html page:          " + html_path.string()), std::string::npos)
        << v.process.output;
  }

  std::unique_ptr<VectorStore> target() { return open(target_uri()); }
  CollectionInfo collection(VectorStore& store, const std::string& name) {
    auto info = store.find_collection(name);
    EXPECT_TRUE(info && *info) << name;
    return info && *info ? **info : CollectionInfo{};
  }
  // A record of `name` that no other record cites (chunk 1 of its document), so that deleting or
  // moving it trips only the tests a test means to trip.
  Record some_record(VectorStore& store, const std::string& name) {
    auto info = collection(store, name);
    auto ids = store.list_ids(info, 0, 100);
    EXPECT_TRUE(ids);
    auto records = store.get_records(info, *ids);
    EXPECT_TRUE(records);
    for (const auto& r : *records) {
      if (r.id.ends_with("-c01") && r.document && !r.document->empty()) return r;
    }
    ADD_FAILURE() << "no chunk-1 record in " << name;
    return {};
  }
};

TEST_F(ValidateIntegration, CleanMappedMigrationPassesWithNoWarnings) {
  migrate_with_mapping();
  auto v = validate();
  ASSERT_EQ(v.process.exit_code, 0) << v.why();
  EXPECT_EQ(v.report["overall_status"], "PASSED");
  EXPECT_FALSE(v.report["rollback_triggered"].get<bool>());
  EXPECT_EQ(v.report["rollback_reason"], "");
  EXPECT_EQ(v.report["data_loss_percentage"].get<double>(), 0.0);
  ASSERT_EQ(v.report["tests"].size(), 8u);
  for (const auto& t : v.report["tests"]) EXPECT_EQ(t["status"], "PASSED") << t.dump(2);
  EXPECT_EQ(v.report["summary"]["warnings"], 0);
  // Every target collection's count equalled the expected records found there, so none needed
  // its ids listed again (record_pass.hpp, step 2).
  const auto& pass = v.report["record_pass"];
  EXPECT_EQ(pass["target_ids"], 0) << pass.dump();
  EXPECT_GT(pass["collections_proven_by_count"].get<int>(), 0) << pass.dump();
  // Every space took part, and the figures show real work.
  const auto& per = v.report["tests"][1]["figures"]["collections"];
  std::set<std::string> spaces;
  for (const auto& [name, c] : per.items()) spaces.insert(c["space"].get<std::string>());
  EXPECT_EQ(spaces, (std::set<std::string>{"cosine", "l2", "ip"}));
  EXPECT_EQ(v.report["tests"][0]["figures"]["expected_records"], 320);
  EXPECT_GT(v.report["tests"][7]["figures"]["references_checked"].get<int>(), 0);
  auto md = read_file(work_dir() / "validation_report.md");
  ASSERT_TRUE(md);
  EXPECT_NE(md->find("# Validation report: PASSED"), std::string::npos);
  EXPECT_NE(v.process.output.find("overall status:     PASSED"), std::string::npos)
      << v.process.output;
  expect_page_agrees(v, work_dir() / "validation_report.html");
  // The migration's page: the import rate was recorded during the run, and the page plots it.
  const auto summary = nlohmann::json::parse(*read_file(work_dir() / "migration_summary.json"));
  const auto& samples = summary["import_rate"]["samples"];
  ASSERT_GE(samples.size(), 2u) << summary.dump(2);
  EXPECT_EQ(samples.back()[1], 320);
  auto summary_page = read_file(work_dir() / "migration_summary.html");
  ASSERT_TRUE(summary_page);
  EXPECT_EQ(external_references(*summary_page), std::vector<std::string>{});
  const auto rate = svg_with_id(*summary_page, "import-rate");
  ASSERT_TRUE(rate);
  EXPECT_EQ(data_points(*rate).size(), samples.size());
  EXPECT_EQ(data_points(*rate).back().second, 320);
  EXPECT_TRUE(svg_with_id(*summary_page, "phase-seconds"));
  EXPECT_TRUE(svg_with_id(*summary_page, "collection-records"));

  // --report elsewhere, and --target given explicitly: the same verdict.
  auto elsewhere =
      run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work_dir().string(), "--target", target_uri(),
                                        "--report", (dir_ / "reports" / "r.json").string()});
  EXPECT_EQ(elsewhere.exit_code, 0) << elsewhere.output;
  auto r = read_file(dir_ / "reports" / "r.json");
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(*r)["overall_status"], "PASSED");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "reports" / "r.md"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "reports" / "r.html"));
}

TEST_F(ValidateIntegration, DeletedRecordIsAChunkCountMismatch) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "support_v2");
  ASSERT_TRUE(
      store->delete_records(collection(*store, "support_v2"), std::vector<std::string>{r.id}));
  auto v = validate();
  expect_caught(v, "count_verification", "Chunk Count Mismatch");
  EXPECT_EQ(v.report["tests"][0]["figures"]["missing_records"], 1);
  EXPECT_NE(v.report["tests"][0]["samples"].dump().find(r.id), std::string::npos);
  EXPECT_GT(v.report["data_loss_percentage"].get<double>(), 0.0);
  EXPECT_FALSE(v.has_reason("Data Loss Detected")) << "1 of 320 is below the 5% threshold";
  // The FAILED run's page: the verdict, the reason, the collection that lost a record.
  expect_page_agrees(v, work_dir() / "validation_report.html");
}

TEST_F(ValidateIntegration, PerturbedVectorIsEmbeddingCorruption) {
  migrate_with_mapping();
  auto store = target();
  auto r =
      some_record(*store, "kb_en");  // cosine: the bound is float32 rounding, 1e-3 is far beyond
  r.embedding[3] += 1e-3f;
  ASSERT_TRUE(store->upsert(collection(*store, "kb_en"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "embedding_integrity", "Embedding Corruption");
  EXPECT_EQ(v.report["tests"][1]["figures"]["beyond_bound"], 1);
  EXPECT_EQ(v.status("count_verification"), "PASSED");
}

TEST_F(ValidateIntegration, RemovedRequiredKeyIsASchemaViolation) {
  migrate_with_mapping();
  auto store = target();
  auto info = collection(*store, "kb_intl");
  auto r = some_record(*store, "kb_intl");
  r.metadata.erase("language");  // upsert merges metadata: delete, then add it back without the key
  ASSERT_TRUE(store->delete_records(info, std::vector<std::string>{r.id}));
  ASSERT_TRUE(store->upsert(info, std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "metadata_completeness", "Schema Violation");
  const auto findings = v.report["tests"][2]["findings"].dump();
  EXPECT_NE(findings.find("key \\\"language\\\" missing in 1 record"), std::string::npos)
      << findings;
}

TEST_F(ValidateIntegration, ChangedValueIsASchemaViolation) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "product_v2");
  r.metadata["created_at"] =
      std::get<std::int64_t>(r.metadata.at("created_at")) + 1;  // still a valid int
  ASSERT_TRUE(store->upsert(collection(*store, "product_v2"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "metadata_completeness", "Schema Violation");
  EXPECT_EQ(v.status("field_type_validation"), "PASSED") << "the value is still a valid int";
}

TEST_F(ValidateIntegration, RecordMovedToAnotherCollectionIsADistributionMismatch) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "support_v2");
  ASSERT_TRUE(
      store->delete_records(collection(*store, "support_v2"), std::vector<std::string>{r.id}));
  ASSERT_TRUE(store->upsert(collection(*store, "product_v2"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "collection_distribution", "Collection Distribution Mismatch");
  const auto findings = v.report["tests"][4]["findings"].dump();
  EXPECT_NE(findings.find("expected in support_v2 found in product_v2"), std::string::npos)
      << findings;
  EXPECT_EQ(v.status("duplicate_detection"), "PASSED") << "moved, not copied";

  // Moved out of the run's collections altogether: found by looking up the missing ids.
  auto other = some_record(*store, "kb_intl");
  CollectionSpec spec{"not_in_the_run", {}, {}, {}};
  spec.hnsw.space = "cosine";
  auto outside = store->create_collection(spec);
  ASSERT_TRUE(outside);
  ASSERT_TRUE(
      store->delete_records(collection(*store, "kb_intl"), std::vector<std::string>{other.id}));
  ASSERT_TRUE(store->upsert(*outside, std::vector<Record>{other}));
  auto v2 = validate();
  expect_caught(v2, "collection_distribution", "Collection Distribution Mismatch");
  const auto findings2 = v2.report["tests"][4]["findings"].dump();
  EXPECT_NE(
      findings2.find("expected in kb_intl found in not_in_the_run (not a collection of the run)"),
      std::string::npos)
      << findings2;
}

TEST_F(ValidateIntegration, RecordCopiedUnderANewIdIsADuplicate) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "kb_en");
  r.id = "copy-of-" + r.id;
  ASSERT_TRUE(store->upsert(collection(*store, "kb_en"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "duplicate_detection", "Duplicate IDs Found");
  const auto& figures = v.report["tests"][5]["figures"];
  EXPECT_EQ(figures["new_duplicate_documents"], 1) << figures.dump();
  EXPECT_EQ(figures["new_near_duplicate_pairs"], 1) << figures.dump();
  // The copy made kb_en's count exceed what its expected ids found, so its ids were listed.
  EXPECT_GT(v.report["record_pass"]["target_ids"].get<int>(), 0) << v.report["record_pass"];
}

TEST_F(ValidateIntegration, IntStoredAsStringIsAFieldTypeViolation) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "support_v2");
  r.metadata["chunk_no"] = std::to_string(std::get<std::int64_t>(r.metadata.at("chunk_no")));
  ASSERT_TRUE(store->upsert(collection(*store, "support_v2"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "field_type_validation", "Field Type Violation");
  const auto findings = v.report["tests"][6]["findings"].dump();
  EXPECT_NE(findings.find("chunk_no"), std::string::npos) << findings;
}

TEST_F(ValidateIntegration, DanglingReferenceIsCaught) {
  migrate_with_mapping();
  auto store = target();
  auto r = some_record(*store, "kb_intl");
  r.metadata["cites"] = std::string("no-such-record");
  ASSERT_TRUE(store->upsert(collection(*store, "kb_intl"), std::vector<Record>{r}));
  auto v = validate();
  expect_caught(v, "citation_references", "Dangling Citations");
  EXPECT_EQ(v.report["tests"][7]["figures"]["dangling"], 1);
}

TEST_F(ValidateIntegration, CollectionRecreatedWithAnotherSpaceFails) {
  migrate_with_mapping();
  auto store = target();
  auto info = collection(*store, "kb_en");
  ASSERT_EQ(info.hnsw.space, "cosine");
  auto state = capture_state(*store, {"kb_en"});
  ASSERT_TRUE(state);
  ASSERT_TRUE(store->delete_collection("kb_en"));
  CollectionSpec spec{"kb_en", info.metadata, info.hnsw, {}};
  spec.hnsw.space = "l2";
  auto created = store->create_collection(spec);
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_TRUE(store->upsert(*created, state->at("kb_en").records));
  auto v = validate();
  EXPECT_EQ(v.process.exit_code, 2) << v.why();
  EXPECT_EQ(v.report["overall_status"], "FAILED");
  EXPECT_TRUE(v.report["rollback_triggered"].get<bool>());
  EXPECT_EQ(v.status("semantic_search_equivalence"), "FAILED") << v.why();
  EXPECT_EQ(v.status("embedding_integrity"), "FAILED")
      << "the distance space is part of the embeddings' meaning";
  EXPECT_EQ(v.status("count_verification"), "PASSED");
}

TEST_F(ValidateIntegration, MergedCollectionKeepsForeignRecordsAndPasses) {
  // Without a mapping, into a target collection that already holds a record of its own.
  auto store = target();
  CollectionSpec spec{"support_tickets", {}, {}, {}};
  spec.hnsw.space = "l2";
  auto existing = store->create_collection(spec);
  ASSERT_TRUE(existing);
  ASSERT_TRUE(store->upsert(
      *existing, std::vector<Record>{{"foreign", std::vector<float>(16, 0.5f), "kept", {}}}));
  auto run = migrate({"--if-exists", "merge"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto v = validate();
  ASSERT_EQ(v.process.exit_code, 0) << v.why();
  EXPECT_EQ(v.report["tests"][0]["figures"]["collections"]["support_tickets"]["expected"], 81);

  ASSERT_TRUE(store->delete_records(collection(*store, "support_tickets"),
                                    std::vector<std::string>{"foreign"}));
  auto lost = validate();
  expect_caught(lost, "count_verification", "Chunk Count Mismatch");
}

TEST_F(ValidateIntegration, CouldNotRunExitsThreeWithoutAReport) {
  auto missing = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", (dir_ / "nowhere").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("no run.json"), std::string::npos) << missing.output;
  auto bad_flag =
      run_process(CHROMA_VALIDATE_BIN, {"--work-dir", dir_.string(), "--top-k", "zero"});
  EXPECT_EQ(bad_flag.exit_code, 3) << bad_flag.output;

  migrate_with_mapping();
  ASSERT_TRUE(write_file_atomic(dir_ / "t.json", R"({"recall_treshold": 0.5})"));
  auto bad_thresholds = validate({"--thresholds", (dir_ / "t.json").string()});
  EXPECT_EQ(bad_thresholds.process.exit_code, 3) << bad_thresholds.process.output;
  EXPECT_NE(bad_thresholds.process.output.find("recall_treshold: unknown key"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "validation_report.json"));
  auto unreachable = validate({"--target", "http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.process.exit_code, 3) << unreachable.process.output;
  EXPECT_NE(unreachable.process.output.find("unreachable"), std::string::npos)
      << unreachable.process.output;
}

}  // namespace
}  // namespace cm::testing

namespace cm::testing {
namespace {

// The seed's --verify-only: `chroma-validate --target T --contract F`, no run and no source. What
// the contract can judge is judged (here a good target passes, then a record without a required
// key fails); the tests that need a source say NOT_APPLICABLE and never decide the verdict.
TEST_F(ValidateIntegration, ContractOnlyJudgesTheTargetAloneInBothDirections) {
  migrate_with_mapping();
  const auto report = dir_ / "contract-only" / "report.md";
  auto check = [&] {
    auto p = run_process(CHROMA_VALIDATE_BIN,
                         {"--target", target_uri(), "--contract", (dir_ / "contract.json").string(),
                          "--output", report.string()});
    auto text = read_file(std::filesystem::path(report).replace_extension(".json"));
    Validation v;
    v.process = p;
    if (text) v.report = nlohmann::json::parse(*text);
    return v;
  };
  auto good = check();
  EXPECT_EQ(good.process.exit_code, 0) << good.why();
  ASSERT_TRUE(good.report.is_object()) << good.process.output;
  EXPECT_NE(good.report.value("mode", "").find("contract-only"), std::string::npos);
  for (const char* name : {"count_verification", "semantic_search_equivalence",
                           "collection_distribution", "duplicate_detection"}) {
    EXPECT_EQ(good.status(name), "NOT_APPLICABLE") << name;
  }
  for (const char* name : {"embedding_integrity", "metadata_completeness", "field_type_validation",
                           "citation_references"}) {
    EXPECT_EQ(good.status(name), "PASSED") << name << good.why();
  }
  EXPECT_EQ(good.report["summary"]["not_applicable"], 4);

  auto store = target();
  auto info = collection(*store, "kb_intl");
  auto r = some_record(*store, "kb_intl");
  r.metadata.erase("language");
  ASSERT_TRUE(store->delete_records(info, std::vector<std::string>{r.id}));
  ASSERT_TRUE(store->upsert(info, std::vector<Record>{r}));
  auto bad = check();
  EXPECT_EQ(bad.process.exit_code, 2) << bad.why();
  EXPECT_EQ(bad.status("metadata_completeness"), "FAILED") << bad.why();
  EXPECT_TRUE(bad.has_reason("Schema Violation")) << bad.report["rollback_reasons"].dump();
}

}  // namespace
}  // namespace cm::testing
