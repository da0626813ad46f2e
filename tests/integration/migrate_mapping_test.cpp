// chroma-migrate --mapping against real servers: routing (merge and split), every field rule, cast
// failure policies, and resume — the target must equal the source transformed in-process by the
// same mapping, and the source must be untouched.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "contracts/mapping.hpp"
#include "tests/integration/migrate_fixture.hpp"

namespace cm::testing {
namespace {

// Merge (kb_articles non-English + legal_clauses -> kb_other), split (kb_articles by lang, and
// product_docs by is_public), every field rule kind.
const char* kMapping = R"({
  "mapping_version": 1,
  "targets": {
    "kb_en": {"metadata": {"embedding_model": "all-MiniLM-L6-v2"}},
    "kb_other": {"hnsw": {"ef_construction": 180}},
    "docs_public": {"space": "ip"},
    "docs_private": {"space": "ip"},
    "tickets_v2": {}
  },
  "routes": [
    {"name": "english", "from": ["kb_articles"], "where": {"lang": {"eq": "en"}}, "to": "kb_en"},
    {"name": "other kb", "from": ["kb_articles", "legal_clauses"], "to": "kb_other"},
    {"name": "public docs", "from": ["product_docs"], "where": {"is_public": {"eq": true}}, "to": "docs_public"},
    {"name": "private docs", "from": ["product_docs"], "to": "docs_private"},
    {"name": "tickets", "from": ["support_tickets"], "where": {"source": {"in": ["zendesk"]}, "doc_id": {"prefix": "doc"}}, "to": "tickets_v2"}
  ],
  "unmatched": "skip",
  "fields": [
    {"to": "document_id", "from": "doc_id"},
    {"to": "chunk_no", "from": "chunk_index", "cast": "float"},
    {"to": "language", "from": "lang", "default": "und"},
    {"to": "score_text", "from": "score", "cast": "string"},
    {"to": "version", "from": "version", "cast": "int"},
    {"to": "schema_version", "const": 2},
    {"to": "doc_len", "compute": "document_length"},
    {"to": "hash", "compute": "content_hash"},
    {"to": "source_id", "compute": "source_id"},
    {"to": "source_collection", "compute": "source_collection"},
    {"to": "run", "compute": "run_id"},
    {"to": "migrated_at", "compute": "migration_timestamp"}
  ],
  "on_cast_failure": "fail",
  "unmapped_keys": "drop"
})";

class MappingIntegration : public MigrateIntegration {
 protected:
  std::filesystem::path write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    EXPECT_TRUE(write_file_atomic(path, text));
    return path;
  }

  // The target as it must be: the source run through the same mapping in-process.
  StoreState expected(const StoreState& source, const std::filesystem::path& mapping_file) {
    auto mapping = contracts::load_mapping(mapping_file);
    EXPECT_TRUE(mapping) << mapping.error().message;
    auto run = nlohmann::json::parse(*read_file(work_dir() / "run.json"));
    contracts::TransformContext tctx{run["run_id"], run["started_at"]};
    std::vector<CollectionInfo> infos;
    for (const auto& name : contracts::mapped_source_collections(*mapping))
      infos.push_back(source.at(name).info);
    auto specs = contracts::plan_target_collections(*mapping, infos);
    EXPECT_TRUE(specs) << specs.error().message;
    StoreState out;
    for (const auto& spec : *specs) {
      out[spec.name].info.name = spec.name;
      out[spec.name].info.hnsw = spec.hnsw;
      out[spec.name].info.metadata = spec.metadata;
    }
    for (const auto& [name, c] : source) {
      for (const auto& r : c.records) {
        auto t = contracts::transform_record(*mapping, name, r, tctx);
        EXPECT_TRUE(t) << t.error().message;
        if (t && t->outcome == contracts::Transformed::Outcome::kRouted)
          out[t->target].records.push_back(t->record);
      }
    }
    for (auto& [name, c] : out) {
      std::sort(c.records.begin(), c.records.end(),
                [](const Record& a, const Record& b) { return a.id < b.id; });
      c.count = c.records.size();
    }
    return out;
  }

  corpus::CorpusOptions corpus_options() {
    corpus::CorpusOptions o;
    o.total_records = 1200;
    o.dimension = 16;
    return o;
  }
};

TEST_F(MappingIntegration, RoutesMergesSplitsAndAppliesEveryFieldRule) {
  seed(source_uri(), corpus_options());
  auto before = state_of(source_uri());
  auto mapping = write("mapping.json", kMapping);
  auto run = migrate({"--mapping", mapping.string(), "--batch-size", "100"});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  auto want = expected(before, mapping);
  auto got = state_of(target_uri());
  EXPECT_EQ(diff_text(want, got), "");
  EXPECT_EQ(diff_text(before, state_of(source_uri())), "") << "the source must be untouched";
  // Split and merge really happened, and settings were applied or inherited.
  EXPECT_GT(got.at("kb_en").count, 0u);
  EXPECT_GT(got.at("docs_public").count, 0u);
  EXPECT_GT(got.at("docs_private").count, 0u);
  EXPECT_EQ(got.at("kb_other").info.hnsw.ef_construction, 180);
  EXPECT_EQ(got.at("kb_other").info.hnsw.space, "cosine");
  EXPECT_EQ(got.at("docs_public").info.hnsw.space, "ip");
  EXPECT_EQ(
      std::get<std::string>(got.at("kb_en").info.metadata.at("migration_run_id")),
      nlohmann::json::parse(*read_file(work_dir() / "run.json"))["run_id"].get<std::string>());
  // Typed results of the rules on one record.
  const Record& r = got.at("kb_en").records.front();
  EXPECT_TRUE(std::holds_alternative<double>(r.metadata.at("chunk_no")));
  EXPECT_TRUE(std::holds_alternative<std::string>(r.metadata.at("score_text")));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.metadata.at("version")));
  EXPECT_EQ(std::get<std::int64_t>(r.metadata.at("schema_version")), 2);
  EXPECT_FALSE(r.metadata.contains("doc_id")) << "unmapped keys are dropped";
  auto report = nlohmann::json::parse(*read_file(work_dir() / "transform_report.json"));
  EXPECT_TRUE(report["sources"].contains("kb_articles"));
}

TEST_F(MappingIntegration, CastFailurePoliciesFailOrSkipAndReport) {
  seed(source_uri(), corpus_options());
  std::string failing = R"({"mapping_version": 1, "targets": {"t_tags": {}},
    "routes": [{"from": ["kb_articles"], "to": "t_tags"}], "unmatched": "skip",
    "fields": [{"to": "tag_number", "from": "tags", "cast": "int"}], "on_cast_failure": "fail", "unmapped_keys": "keep"})";
  auto fail_mapping = write("fail.json", failing);
  auto failed = migrate({"--mapping", fail_mapping.string()});
  EXPECT_EQ(failed.exit_code, 2) << failed.output;
  EXPECT_NE(failed.output.find("tags"), std::string::npos) << failed.output;
  EXPECT_TRUE(state_of(target_uri()).empty()) << "a failed transform writes nothing to the target";

  std::string skipping = failing;
  skipping.replace(skipping.find("\"fail\""), 6, "\"skip_record\"");
  auto skip_mapping = write("skip.json", skipping);
  auto ok = run_process(CHROMA_MIGRATE_BIN,
                        {"--source", source_uri(), "--target", target_uri(), "--work-dir",
                         (dir_ / "w2").string(), "--mapping", skip_mapping.string()});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto before = state_of(source_uri());
  std::uint64_t with_tags = 0;
  for (const auto& r : before.at("kb_articles").records) with_tags += r.metadata.contains("tags");
  auto report = nlohmann::json::parse(*read_file(dir_ / "w2" / "transform_report.json"));
  EXPECT_EQ(report["sources"]["kb_articles"]["skipped_cast_failure"].get<std::uint64_t>(),
            with_tags);
  EXPECT_EQ(state_of(target_uri()).at("t_tags").count, before.at("kb_articles").count - with_tags);
}

TEST_F(MappingIntegration, KillNineThenResumeStaysLosslessWithAMapping) {
  seed(source_uri(), corpus_options());
  auto before = state_of(source_uri());
  auto mapping = write("mapping.json", kMapping);
  const std::vector<std::string> flags{"--mapping", mapping.string(), "--batch-size", "50"};
  auto with_resume = [&] {
    auto f = flags;
    f.push_back("--resume");
    return f;
  };
  // Calls 1-4 are the disk-space estimate's samples (one per source collection): 8 is mid-export.
  auto crashed = migrate(flags, {{"CHROMA_MIGRATE_FAULTS", "source.get_records=crash@8"}});
  ASSERT_TRUE(crashed.signaled) << crashed.output;
  crashed = migrate(with_resume(), {{"CHROMA_MIGRATE_FAULTS", "target.upsert=crash@6"}});
  ASSERT_TRUE(crashed.signaled) << crashed.output;
  auto resumed = migrate(with_resume());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(diff_text(expected(before, mapping), state_of(target_uri())), "");
}

}  // namespace
}  // namespace cm::testing
