// Test 4 (semantic-search equivalence) of chroma-validate against real servers, beyond what
// validate_test.cpp covers (clean run PASSED, a cosine collection recreated as l2 FAILED, a merged
// collection): the queries file's findings, the server-to-server comparison (--source), search
// results that diverge although every record is present, and ids rewritten by the mapping.
// SemanticSearchEdges: null (non-finite) distances from an `ip` collection with huge components,
// and an approximate (badly configured) HNSW index that must not read as divergence, while
// records really missing or changed still do.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

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
  // Every query reached the threshold: no baseline index is built (it would explain nothing).
  EXPECT_TRUE(f["hnswlib_baseline_recall"].is_null()) << f.dump(1);
  EXPECT_TRUE(f["hnswlib_baseline_indexes"].contains("skipped"));
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
  // Only the collections searched by a query below the threshold are indexed: the two shuffled
  // ones, not kb_articles' (every query at 1.0: nothing to explain).
  const auto& indexes = t["figures"]["hnswlib_baseline_indexes"];
  EXPECT_TRUE(indexes.contains("support_v2") && indexes.contains("product_v2")) << indexes.dump();
  EXPECT_FALSE(indexes.contains("kb_en") || indexes.contains("kb_intl")) << indexes.dump();
  EXPECT_TRUE(t["figures"]["collections"]["kb_articles"]["hnswlib_baseline_recall"].is_null());

  // Over validation's memory bound (here 0 MB) no index is built, the report says why, and the
  // verdict is the same: the baseline never decides it.
  ASSERT_TRUE(write_file_atomic(dir_ / "bound.json", R"({"baseline_memory_mb": 0})"));
  t = semantic({"--thresholds", (dir_ / "bound.json").string()}, &exit_code);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(t["status"], "FAILED");
  EXPECT_TRUE(t["figures"]["hnswlib_baseline_recall"].is_null()) << t["figures"].dump();
  const std::string skipped = t["figures"]["hnswlib_baseline_indexes"]["support_v2"].dump();
  EXPECT_NE(skipped.find("over the 0 MB bound of validation"), std::string::npos) << skipped;
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

// Collections built by hand (no corpus), identity migrations (no mapping).
class SemanticSearchEdges : public MigrateIntegration {
 protected:
  // `n` records of dimension `dim`: normalised gaussian vectors times `scale` (high entropy: no
  // cluster structure for an index to exploit).
  static std::vector<Record> random_records(const std::string& prefix, std::size_t n,
                                            std::size_t dim, float scale, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<Record> out;
    for (std::size_t i = 0; i < n; ++i) {
      Record r;
      char id[32];
      std::snprintf(id, sizeof id, "%s-%05zu", prefix.c_str(), i);
      r.id = id;
      double norm = 0;
      for (std::size_t d = 0; d < dim; ++d) {
        r.embedding.push_back(normal(rng));
        norm += double{r.embedding.back()} * r.embedding.back();
      }
      for (auto& x : r.embedding) x = static_cast<float>(x / std::sqrt(norm)) * scale;
      r.document = "doc " + r.id;
      r.metadata = {{"n", static_cast<std::int64_t>(i)}};
      out.push_back(std::move(r));
    }
    return out;
  }

  void create(const std::string& uri, const std::string& name, const HnswConfig& hnsw,
              const std::vector<Record>& records) {
    auto store = open(uri);
    CollectionSpec spec;
    spec.name = name;
    spec.hnsw = hnsw;
    auto info = store->create_collection(spec);
    ASSERT_TRUE(info) << info.error().message;
    for (std::size_t start = 0; start < records.size(); start += 500) {
      const auto batch =
          std::span(records).subspan(start, std::min<std::size_t>(500, records.size() - start));
      ASSERT_TRUE(store->upsert(*info, batch));
    }
  }

  json validate(const std::vector<std::string>& extra, int* exit_code) {
    std::vector<std::string> args{"--work-dir", work_dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = run_process(CHROMA_VALIDATE_BIN, args);
    *exit_code = process.exit_code;
    output_ = process.output;
    auto text = read_file(work_dir() / "validation_report.json");
    if (!text) return json();
    report_ = json::parse(*text);
    for (const auto& t : report_["tests"]) {
      if (t["name"] == "semantic_search_equivalence") return t;
    }
    return json();
  }

  // A collection whose HNSW graph is deliberately poor (max_neighbors 2, ef 4): exact search
  // over the snapshot finds neighbours this index does not return.
  void migrate_poor_index() {
    HnswConfig poor;
    poor.space = "l2";
    poor.max_neighbors = 2;
    poor.ef_construction = 4;
    poor.ef_search = 4;
    records_ = random_records("p", 3000, 96, 1.0f, 11);
    create(source_uri(), "poor_index", poor, records_);
    auto run = migrate({"--batch-size", "500"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }

  json report_;
  std::string output_;
  std::vector<Record> records_;
};

// Bug A: the server answers an overflowed ip dot product with a null distance. That collection
// cannot be ranked; it must be named, not roll back a perfect migration, and the normal
// collection next to it is still judged.
TEST_F(SemanticSearchEdges, NullDistancesOfHugeIpVectorsAreNotAFailure) {
  HnswConfig ip;
  ip.space = "ip";
  create(source_uri(), "huge_ip", ip, random_records("h", 60, 16, 3e28f * 4.0f, 5));
  HnswConfig l2;
  create(source_uri(), "normal_l2", l2, random_records("n", 60, 16, 1.0f, 6));
  // The premise: the server really answers null distances here (parsed as NaN).
  {
    auto store = open(source_uri());
    auto info = store->find_collection("huge_ip");
    ASSERT_TRUE(info && *info);
    auto records = store->get_records(**info, std::vector<std::string>{"h-00000"});
    ASSERT_TRUE(records && records->size() == 1u);
    auto hits = store->query(**info, std::vector<std::vector<float>>{(*records)[0].embedding}, 5);
    ASSERT_TRUE(hits) << hits.error().message;
    ASSERT_FALSE((*hits)[0].empty());
    EXPECT_TRUE(std::isnan((*hits)[0][0].distance)) << (*hits)[0][0].distance;
  }
  auto run = migrate({"--batch-size", "50"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  int exit_code = 0;
  auto t = validate({"--sample", "20", "--source", source_uri()}, &exit_code);
  ASSERT_TRUE(t.is_object()) << output_;
  EXPECT_NE(report_["overall_status"], "FAILED") << report_.dump(2);
  EXPECT_EQ(report_["rollback_triggered"], false) << report_.dump(2);
  EXPECT_NE(exit_code, 2);
  EXPECT_EQ(t["status"], "WARNING") << t.dump(2);
  const std::string findings = t["findings"].dump();
  EXPECT_NE(findings.find("huge_ip: not judged"), std::string::npos) << findings;
  EXPECT_NE(findings.find("non-finite"), std::string::npos) << findings;
  const auto& f = t["figures"];
  ASSERT_EQ(f["collections_not_judged"].size(), 1u) << f.dump(2);
  EXPECT_EQ(f["collections_not_judged"][0]["collection"], "huge_ip");
  EXPECT_GT(f["collections"]["huge_ip"]["non_finite"]["queries_excluded"].get<int>(), 0);
  EXPECT_GT(f["collections"]["huge_ip"]["non_finite"]["target_distances"].get<int>(), 0);
  // The normal collection is judged as usual.
  EXPECT_EQ(f["collections"]["normal_l2"]["judged"], true);
  EXPECT_GT(f["collections"]["normal_l2"]["queries"].get<int>(), 0);
  EXPECT_EQ(f["collections"]["normal_l2"]["mean_recall"], 1.0);
  EXPECT_EQ(f["semantic_divergence_percentage"], 0.0);
}

// Bug B: an approximate index is not divergence. Every record lands exactly; the target's (and
// the source's) HNSW misses true neighbours on many queries.
TEST_F(SemanticSearchEdges, ApproximateIndexOfAnExactMigrationIsNotDivergence) {
  migrate_poor_index();
  int exit_code = 0;
  auto t = validate({"--sample", "40", "--source", source_uri()}, &exit_code);
  ASSERT_TRUE(t.is_object()) << output_;
  const auto& f = t["figures"];
  // The premise: by raw recall this would be a divergence above semantic_divergence_fail_pct.
  const double queries = f["queries"].get<double>();
  ASSERT_GT(queries, 0);
  EXPECT_GT(f["queries_below_threshold"].get<double>() / queries, 0.2) << f.dump(2);
  // Attributed: every missed neighbour is in the target with its vector.
  EXPECT_EQ(f["queries_diverged"], 0) << f.dump(2);
  EXPECT_EQ(f["semantic_divergence_percentage"], 0.0);
  EXPECT_GT(f["attribution"]["missed_intact_in_target"].get<int>(), 0);
  EXPECT_EQ(f["attribution"]["missed_missing_from_target"], 0);
  EXPECT_EQ(f["attribution"]["missed_changed_in_target"], 0);
  EXPECT_EQ(f["attribution"]["shortfall_divergence"], 0);
  EXPECT_TRUE(f["index_recall"]["target"]["mean"].is_number());
  EXPECT_TRUE(f["index_recall"]["live_source"]["mean"].is_number()) << f.dump(2);
  EXPECT_NE(t["status"], "FAILED") << t.dump(2);
  EXPECT_EQ(report_["rollback_triggered"], false) << report_.dump(2);
  EXPECT_NE(report_["overall_status"], "FAILED");
  EXPECT_NE(exit_code, 2);
}

// The opposite direction with the same poor index: records really missing or changed in the
// target still fail the check, and the divergence is attributed to them.
TEST_F(SemanticSearchEdges, MissingAndChangedRecordsStillDivergeUnderAnApproximateIndex) {
  migrate_poor_index();
  auto store = open(target_uri());
  auto info = store->find_collection("poor_index");
  ASSERT_TRUE(info && *info);
  // A third of the records deleted, another third given other vectors.
  std::vector<std::string> deleted;
  std::vector<Record> changed;
  const auto fresh = random_records("p", records_.size(), 96, 1.0f, 99);
  for (std::size_t i = 0; i < records_.size(); ++i) {
    if (i % 3 == 0) deleted.push_back(records_[i].id);
    if (i % 3 == 1) {
      changed.push_back(records_[i]);
      changed.back().embedding = fresh[i].embedding;
    }
  }
  ASSERT_TRUE(store->delete_records(**info, deleted));
  for (std::size_t start = 0; start < changed.size(); start += 500) {
    ASSERT_TRUE(store->upsert(
        **info,
        std::span(changed).subspan(start, std::min<std::size_t>(500, changed.size() - start))));
  }
  int exit_code = 0;
  auto t = validate({"--sample", "40"}, &exit_code);
  ASSERT_TRUE(t.is_object()) << output_;
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(t["status"], "FAILED") << t.dump(2);
  EXPECT_EQ(t["rollback_reason"], "Search Results Diverged");
  const auto& f = t["figures"];
  EXPECT_GT(f["semantic_divergence_percentage"].get<double>(), 20.0) << f.dump(2);
  EXPECT_GT(f["attribution"]["missed_missing_from_target"].get<int>(), 0) << f.dump(2);
  EXPECT_GT(f["attribution"]["missed_changed_in_target"].get<int>(), 0) << f.dump(2);
  EXPECT_GT(f["attribution"]["shortfall_divergence"].get<int>(), 0);
  const auto& reasons = report_["rollback_reasons"];
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Search Results Diverged"), reasons.end());
  EXPECT_NE(t["findings"].dump().find("because of missing or changed records"), std::string::npos);
}

}  // namespace
}  // namespace cm::testing
