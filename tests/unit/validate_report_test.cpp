// The report: JSON fields, the Markdown and the console block rendered from the same JSON, and
// atomic writes of both files.
#include "validate/report.hpp"

#include <gtest/gtest.h>

#include "common/base/atomic_file.hpp"
#include "tests/support/chroma_server.hpp"

namespace cm::validate {
namespace {

struct Fixture {
  std::vector<CheckResult> results;
  Verdict verdict;
  nlohmann::json report;
};

Fixture failed_report() {
  Fixture f;
  CheckResult count;
  count.name = "count_verification";
  count.title = "Count verification";
  count.status = CheckStatus::kFailed;
  count.figures = {{"data_loss_percentage", 0.5}, {"missing_records", 1}};
  count.thresholds = {{"data_loss_fail_pct", 5.0}};
  count.findings = {"kb_en: 1 record missing from the target (e.g. a|b)"};
  count.samples = {"a|b"};
  count.seconds = 0.25;
  CheckResult types;
  types.name = "field_type_validation";
  types.title = "Field type validation";
  types.findings = {"no contract: types compared against the expected records by check 3"};
  f.results = {count, types};
  f.verdict = compute_verdict(f.results, {});
  ReportHeader h{"run-1",
                 "http://old:8000",
                 "http://new:8000",
                 "/w",
                 "2025-01-01T00:00:00.000Z",
                 "0.1.0",
                 1.5,
                 {{"thresholds", thresholds_to_json({})}}};
  f.report = report_to_json(h, f.verdict, f.results);
  return f;
}

TEST(ValidateReportTest, JsonHoldsTheVerdictAndEveryTest) {
  const auto r = failed_report().report;
  EXPECT_EQ(r["overall_status"], "FAILED");
  EXPECT_EQ(r["rollback_triggered"], true);
  EXPECT_EQ(r["rollback_reason"], "Chunk Count Mismatch");
  EXPECT_EQ(r["rollback_reasons"], nlohmann::json::array({"Chunk Count Mismatch"}));
  EXPECT_EQ(r["data_loss_percentage"], 0.5);
  EXPECT_EQ(r["semantic_divergence_percentage"], 0.0);
  for (const char* key : {"run_id", "source", "target", "work_dir", "started_at", "elapsed_seconds",
                          "tool_version", "thresholds", "summary"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
  EXPECT_EQ(r["summary"]["total"], 2);
  EXPECT_EQ(r["summary"]["failed"], 1);
  ASSERT_EQ(r["tests"].size(), 2u);
  const auto& t = r["tests"][0];
  for (const char* key : {"name", "title", "status", "figures", "thresholds", "findings", "samples",
                          "seconds", "rollback_reason"}) {
    EXPECT_TRUE(t.contains(key)) << key;
  }
  EXPECT_EQ(t["status"], "FAILED");
  EXPECT_EQ(t["rollback_reason"], "Chunk Count Mismatch");
  EXPECT_EQ(r["tests"][1]["rollback_reason"], "");
}

TEST(ValidateReportTest, MarkdownAndConsoleAreRenderedFromTheJson) {
  const auto r = failed_report().report;
  const auto md = render_markdown(r);
  EXPECT_NE(md.find("# Validation report: FAILED"), std::string::npos) << md;
  EXPECT_NE(md.find("| rollback triggered | **yes**: Chunk Count Mismatch |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1 | Count verification | FAILED | 0.25 | Chunk Count Mismatch |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- kb_en: 1 record missing from the target (e.g. a|b)"), std::string::npos);
  EXPECT_NE(md.find("## 2. Field type validation — PASSED"), std::string::npos);
  const auto console = render_console_summary(r, "/w/validation_report.json");
  EXPECT_NE(console.find("total tests:        2 (passed 1, warnings 0, failed 1, errors 0)"),
            std::string::npos)
      << console;
  EXPECT_NE(console.find("overall status:     FAILED"), std::string::npos);
  EXPECT_NE(console.find("rollback triggered: YES (Chunk Count Mismatch)"), std::string::npos);
  EXPECT_NE(console.find("/w/validation_report.md"), std::string::npos);
}

TEST(ValidateReportTest, WritesBothFilesAndSurvivesInvalidUtf8) {
  auto f = failed_report();
  f.results[0].samples.push_back(std::string("bad\xff id"));
  f.report = report_to_json({"run-1", "", "", "", "", "", 0, {}}, f.verdict, f.results);
  auto dir = testing::make_temp_dir("report");
  ASSERT_TRUE(write_reports(f.report, dir / "r.json"));
  auto json = read_file(dir / "r.json");
  ASSERT_TRUE(json);
  auto parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["overall_status"], "FAILED");
  EXPECT_TRUE(std::filesystem::exists(dir / "r.md"));
  EXPECT_EQ(markdown_path_for("/x/validation_report.json"),
            std::filesystem::path("/x/validation_report.md"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cm::validate
