// Test 4 (semantic-search equivalence) of chroma-validate against real servers, beyond what
// validate_test.cpp covers (clean run PASSED, a cosine collection recreated as l2 FAILED, a merged
// collection): the queries file's findings, the server-to-server comparison (--source), search
// results that diverge although every record is present, and ids rewritten by the mapping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

using nlohmann::json;

class SemanticSearchIntegration : public MigrateIntegration {
 protected:
  void SetUp() override {
    MigrateIntegration::SetUp();
    corpus::CorpusOptions o;
    o.total_records = 320;  // 80 per collection, docs 0..9
    o.dimension = 16;
    seed(source_uri(), o);
  }

  void migrate_with_mapping(const std::string& mapping_text = "") {
    std::string mapping =
        std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json";
    if (!mapping_text.empty()) {
      mapping = (dir_ / "mapping.json").string();
      ASSERT_TRUE(write_file_atomic(mapping, mapping_text));
    }
    auto run = migrate({"--mapping", mapping, "--batch-size", "50"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }

  // chroma-validate's report entry for test 4 (null when there is no report).
  json semantic(const std::vector<std::string>& extra, int* exit_code = nullptr) {
    std::vector<std::string> args{"--work-dir", work_dir().string(), "--sample", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = run_process(CHROMA_VALIDATE_BIN, args);
    if (exit_code) *exit_code = process.exit_code;
    auto text = read_file(work_dir() / "validation_report.json");
    if (!text) return json();
    report_ = json::parse(*text);
    for (const auto& t : report_["tests"]) {
      if (t["name"] == "semantic_search_equivalence") return t;
    }
    return json();
  }

  json report_;
};

TEST_F(SemanticSearchIntegration, QueriesFileFindingsAndTheLiveSourceComparison) {
  migrate_with_mapping();
  json queries = {
      {"queries",
       {{{"name", "kb chunk"},
         {"collection", "kb_articles"},
         {"record_id", "kb_articles-doc00003-c01"}},
        {{"name", "legal chunk k5"},
         {"collection", "legal_clauses"},
         {"k", 5},
         {"record_id", "legal_clauses-doc00002-c04"}},
        {{"name", "explicit l2"},
         {"collection", "support_tickets"},
         {"embedding", std::vector<float>(16, 0.25f)}},
        {{"name", "missing record"},
         {"collection", "kb_articles"},
         {"record_id", "kb_articles-doc09999-c00"}},
        {{"name", "unknown collection"}, {"collection", "no_such_collection"}, {"record_id", "x"}},
        {{"name", "wrong dimension"},
         {"collection", "product_docs"},
         {"embedding", {1.0, 2.0, 3.0}}}}}};
  ASSERT_TRUE(write_file_atomic(dir_ / "queries.json", queries.dump()));
  int exit_code = 0;
  auto t = semantic({"--queries", (dir_ / "queries.json").string(), "--source", source_uri()},
                    &exit_code);
  ASSERT_TRUE(t.is_object()) << report_.dump(2);
  EXPECT_EQ(t["status"], "WARNING") << t.dump(2);
  EXPECT_EQ(exit_code, 1);
  const auto& f = t["figures"];
  EXPECT_EQ(f["queries_from_file"], 6);
  EXPECT_EQ(f["queries_unresolved"], 3);
  EXPECT_EQ(f["queries_sampled"], 20);
  EXPECT_EQ(f["queries"], 23);  // 3 from the file + 20 sampled, all judged
  EXPECT_EQ(f["semantic_divergence_percentage"], 0.0);
  EXPECT_EQ(f["mean_recall"], 1.0);  // 80 records per collection: HNSW is exact here
  EXPECT_EQ(f["hnswlib_baseline_recall"], 1.0);
  EXPECT_EQ(f["live_source"]["queries"], 23);
  EXPECT_EQ(f["live_source"]["mean_recall_target_vs_live_source"], 1.0);
  EXPECT_EQ(f["live_source"]["mean_recall_live_source_vs_exact"], 1.0);
  // kb_articles is split over kb_en and kb_intl; kb_intl also holds legal_clauses.
  const auto& kb = f["collections"]["kb_articles"];
  EXPECT_EQ(kb["targets"], (json{{"kb_en", "cosine"}, {"kb_intl", "cosine"}}));
  EXPECT_EQ(kb["reference"]["landed"], 80);
  EXPECT_EQ(kb["reference"]["merged_in"], 80);
  const std::string findings = t["findings"].dump();
  for (const char* expected :
       {"record 'kb_articles-doc09999-c00' is not in the export snapshot",
        "names collection no_such_collection, which is not a source collection",
        "query \\\"wrong dimension\\\" has dimension 3, the collection 16"}) {
    EXPECT_NE(findings.find(expected), std::string::npos) << expected << " in " << findings;
  }
}

TEST_F(SemanticSearchIntegration, ShuffledVectorsDivergeAndTriggerRollback) {
  migrate_with_mapping();
  // Every record keeps its id, document and metadata, but carries another record's vector: counts
  // and metadata are right, search is not.
  auto store = open(target_uri());
  for (const char* name : {"support_v2", "product_v2"}) {
    auto info = store->find_collection(name);
    ASSERT_TRUE(info && *info);
    auto ids = store->list_ids(**info, 0, 1000);
    ASSERT_TRUE(ids);
    auto records = store->get_records(**info, *ids);
    ASSERT_TRUE(records);
    std::vector<Record> shuffled = *records;
    for (std::size_t i = 0; i < shuffled.size(); ++i) {
      shuffled[i].embedding = (*records)[(i + 7) % records->size()].embedding;
    }
    ASSERT_TRUE(store->upsert(**info, shuffled));
  }
  int exit_code = 0;
  auto t = semantic({}, &exit_code);
  ASSERT_TRUE(t.is_object()) << report_.dump(2);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(t["status"], "FAILED") << t.dump(2);
  EXPECT_EQ(t["rollback_reason"], "Search Results Diverged");
  const double divergence = t["figures"]["semantic_divergence_percentage"];
  EXPECT_GT(divergence, 20.0);
  EXPECT_EQ(report_["semantic_divergence_percentage"], divergence);
  const auto& reasons = report_["rollback_reasons"];
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Search Results Diverged"), reasons.end());
  EXPECT_FALSE(t["samples"].empty());
  EXPECT_LT(t["figures"]["collections"]["support_tickets"]["mean_recall"].get<double>(), 0.5);
  EXPECT_EQ(t["figures"]["collections"]["kb_articles"]["mean_recall"], 1.0);
  // The local baseline indexes the import snapshot, not the target: unaffected.
  EXPECT_EQ(t["figures"]["hnswlib_baseline_recall"], 1.0);
}

TEST_F(SemanticSearchIntegration, BadQueriesFileIsRefusedUpFrontNotARollback) {
  migrate_with_mapping();
  ASSERT_TRUE(write_file_atomic(
      dir_ / "queries.json",
      R"({"queries": [{"collection": "kb_articles", "k": 0, "record_id": "x"}]})"));
  auto process = run_process(CHROMA_VALIDATE_BIN, {"--work-dir", work_dir().string(), "--queries",
                                                   (dir_ / "queries.json").string()});
  EXPECT_EQ(process.exit_code, 3) << process.output;  // could not run: bad input
  EXPECT_NE(process.output.find("--queries: queries.json: queries[0].k"), std::string::npos)
      << process.output;
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "validation_report.json"));
  EXPECT_FALSE(std::filesystem::exists(work_dir() / "validation_report.md"));
}

TEST_F(SemanticSearchIntegration, RewrittenIdsAreAWarningNotAGuess) {
  auto mapping =
      read_file(std::string(CM_SOURCE_DIR) + "/contracts/examples/flat_to_v2.mapping.json");
  ASSERT_TRUE(mapping);
  const auto at = mapping->rfind('}');
  mapping->insert(at, ",\n  \"id_template\": \"{source_collection}/{id}\"\n");
  migrate_with_mapping(*mapping);
  auto t = semantic({});
  ASSERT_TRUE(t.is_object()) << report_.dump(2);
  EXPECT_EQ(t["status"], "WARNING");
  EXPECT_NE(t["findings"].dump().find("ids rewritten: equivalence not computed"), std::string::npos)
      << t.dump(2);
}

}  // namespace
}  // namespace cm::testing
