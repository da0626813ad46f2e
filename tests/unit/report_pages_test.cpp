// The HTML report pages rendered from JSON fixtures (tests/data/report/): each page holds the
// plots the issue names (by id), references nothing outside itself, and shows the JSON's figures.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/report/html_page.hpp"
#include "migrate/summary_page.hpp"
#include "rollback/html_page.hpp"
#include "tests/support/html_checks.hpp"
#include "validate/html_page.hpp"

namespace cm {
namespace {

using cm::testing::data_points;
using cm::testing::data_values;
using cm::testing::element_with_id;
using cm::testing::external_references;
using cm::testing::svg_with_id;
using nlohmann::json;

json fixture(const std::string& name) {
  std::ifstream in(std::string(CM_SOURCE_DIR) + "/tests/data/report/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

std::string page_or_fail(const Result<std::string>& page) {
  EXPECT_TRUE(page.has_value()) << (page ? "" : page.error().message);
  return page ? *page : std::string();
}

void expect_self_contained(const std::string& html) {
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(external_references(html), std::vector<std::string>{});
}

TEST(ValidationPage, FailedRunShowsVerdictReasonsAndPlots) {
  const auto report = fixture("validation_report_failed.json");
  const auto html =
      page_or_fail(validate::render_validation_page(report, "validation_report.json"));
  expect_self_contained(html);
  // The verdict and the rollback reasons come first, before any plot.
  const auto verdict = html.find("id=\"overall-status\">FAILED<");
  ASSERT_NE(verdict, std::string::npos);
  const auto reason = html.find("semantic_search: 30% of queries diverged");
  ASSERT_NE(reason, std::string::npos);
  EXPECT_LT(reason, html.find("<svg"));
  // One recall plot per source collection, the threshold marked at 0.9 (bin 9 of width 0.1).
  const auto recall = svg_with_id(html, "recall-0");
  ASSERT_TRUE(recall);
  EXPECT_NE(recall->find("docs"), std::string::npos);
  EXPECT_EQ(data_values(*recall, "0.9\u20131.0"), (std::vector<double>{7}));
  EXPECT_EQ(data_values(*recall, "0.5\u20130.6"), (std::vector<double>{3}));
  EXPECT_NE(recall->find("class=\"marker\" data-value=\"9\""), std::string::npos);
  ASSERT_TRUE(svg_with_id(html, "recall-1"));
  // Expected vs actual per target collection, as the JSON has them (labels escaped).
  const auto counts = svg_with_id(html, "count-records");
  ASSERT_TRUE(counts);
  EXPECT_EQ(data_values(*counts, "docs"), (std::vector<double>{200, 188}));
  EXPECT_EQ(data_values(*counts, "notes &lt;b&gt;&amp;amp;&lt;/b&gt;"),
            (std::vector<double>{50, 50}));
  const auto errors = svg_with_id(html, "embedding-errors");
  ASSERT_TRUE(errors);
  EXPECT_EQ(data_values(*errors, "0 (equal)"), (std::vector<double>{200}));
  EXPECT_EQ(data_values(*errors, "1e-9"), (std::vector<double>{30}));
  const auto seconds = svg_with_id(html, "test-seconds");
  ASSERT_TRUE(seconds);
  for (const auto& t : report["tests"]) {
    EXPECT_EQ(data_values(*seconds, t["title"].get<std::string>()),
              (std::vector<double>{t["seconds"].get<double>()}));
    // Every test has its section with its status.
    EXPECT_NE(html.find("id=\"test-" + t["name"].get<std::string>() + "\""), std::string::npos);
  }
  // A finding is text, never markup.
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; is just text"), std::string::npos);
  EXPECT_NE(html.find("<td>http://localhost:8000 (source)</td>"), std::string::npos);
  EXPECT_NE(html.find("<code>doc-1</code>"), std::string::npos);
}

TEST(ValidationPage, CleanRunSaysNoRollback) {
  auto report = fixture("validation_report_failed.json");
  report["overall_status"] = "PASSED";
  report["rollback_triggered"] = false;
  report["rollback_reasons"] = json::array();
  const auto html = page_or_fail(validate::render_validation_page(report, "v.json"));
  EXPECT_NE(html.find("id=\"overall-status\">PASSED<"), std::string::npos);
  EXPECT_NE(html.find("Rollback not triggered."), std::string::npos);
  EXPECT_NE(html.find("<code>v.json</code>"), std::string::npos);  // the footer names the record
}

TEST(ValidationPage, AReportWithoutTheNewFiguresStillRenders) {
  json report = {
      {"overall_status", "PASSED"},
      {"tests", json::array({{{"name", "semantic_search_equivalence"}, {"title", "Semantic"}}})}};
  const auto html = page_or_fail(validate::render_validation_page(report, "v.json"));
  EXPECT_FALSE(svg_with_id(html, "recall-0"));
  EXPECT_TRUE(svg_with_id(html, "test-seconds"));
}

TEST(ValidationPage, FieldsOfUnexpectedTypesNeverThrow) {
  json report = {
      {"overall_status", 3},
      {"tests",
       json::array({{{"name", "semantic_search_equivalence"},
                     {"figures",
                      {{"collections", {{"a", {{"recall_histogram", {{"counts", "x"}}}}}}}}}}})}};
  Result<std::string> page = std::string();
  EXPECT_NO_THROW(page = validate::render_validation_page(report, "v.json"));
  if (!page) {
    EXPECT_EQ(page.error().code, ErrorCode::kInternal);
  }
}

TEST(RollbackPage, TriggerTimelineDowntimeAndVerification) {
  const auto report = fixture("rollback_report.json");
  const auto html = page_or_fail(rollback::render_rollback_page(report));
  expect_self_contained(html);
  EXPECT_NE(html.find("id=\"rollback-status\">ROLLED_BACK<"), std::string::npos);
  EXPECT_NE(html.find("validation FAILED (count_verification: 12 records missing)"),
            std::string::npos);
  const auto timeline = svg_with_id(html, "actions-timeline");
  ASSERT_TRUE(timeline);
  EXPECT_EQ(data_values(*timeline, "restore docs"), (std::vector<double>{1.4}));
  // restore ended at +2.5 s and took 1.4 s: it started at +1.1 s.
  const std::string start = "data-label=\"restore docs\" data-start=\"";
  const auto at = timeline->find(start);
  ASSERT_NE(at, std::string::npos) << *timeline;
  EXPECT_NEAR(std::stod(timeline->substr(at + start.size())), 1.1, 1e-3);
  const auto downtime = svg_with_id(html, "downtime");
  ASSERT_TRUE(downtime);
  for (const auto& d : report["downtime"]) {
    EXPECT_EQ(data_values(*downtime, d["live_name"].get<std::string>()),
              (std::vector<double>{d["seconds"].get<double>()}));
  }
  ASSERT_TRUE(element_with_id(html, "verification"));
  EXPECT_NE(html.find("<td>docs</td><td>backup</td><td class=\"num\">200</td>"), std::string::npos);
  EXPECT_NE(html.find("id=\"total-seconds\">4 s<"), std::string::npos);
}

TEST(MigrationSummaryPage, PhasesRateCollectionsRetriesSyncs) {
  const auto summary = fixture("migration_summary.json");
  const auto html = page_or_fail(migrate::render_summary_page(summary));
  expect_self_contained(html);
  const auto phases = svg_with_id(html, "phase-seconds");
  ASSERT_TRUE(phases);
  for (const auto& [phase, seconds] : summary["phase_seconds"].items())
    EXPECT_EQ(data_values(*phases, phase), (std::vector<double>{seconds.get<double>()}));
  const auto rate = svg_with_id(html, "import-rate");
  ASSERT_TRUE(rate);
  std::vector<std::pair<double, double>> want;
  for (const auto& p : summary["import_rate"]["samples"])
    want.emplace_back(p[0].get<double>(), p[1].get<double>());
  EXPECT_EQ(data_points(*rate), want);
  const auto collections = svg_with_id(html, "collection-records");
  ASSERT_TRUE(collections);
  EXPECT_EQ(data_values(*collections, "docs"), (std::vector<double>{200}));
  EXPECT_NE(html.find("docs_v1, docs_v2 \u2192 docs"), std::string::npos);  // the route
  EXPECT_NE(html.find("id=\"retries\">3<"), std::string::npos);
  const auto syncs = svg_with_id(html, "sync-deltas");
  ASSERT_TRUE(syncs);
  EXPECT_EQ(data_values(*syncs, "sync 1"), (std::vector<double>{4, 2, 1, 0}));
}

// A pipelined run imports during the export phase: the phase bar must say so, with the same
// figure, or the page would show an import that took no time.
TEST(MigrationSummaryPage, APipelinedExportIsLabelledWithItsImport) {
  auto summary = fixture("migration_summary.json");
  summary["records_sent_during_export"] = 200;
  const auto html = page_or_fail(migrate::render_summary_page(summary));
  const auto phases = svg_with_id(html, "phase-seconds");
  ASSERT_TRUE(phases);
  EXPECT_EQ(data_values(*phases, "export + import"),
            (std::vector<double>{summary["phase_seconds"]["export"].get<double>()}));
  EXPECT_TRUE(data_values(*phases, "export").empty());
}

TEST(MigrationSummaryPage, NoSyncsNoSyncSection) {
  auto summary = fixture("migration_summary.json");
  summary["syncs"] = json::array();
  const auto html = page_or_fail(migrate::render_summary_page(summary));
  EXPECT_FALSE(svg_with_id(html, "sync-deltas"));
  EXPECT_EQ(html.find("<h2>Syncs</h2>"), std::string::npos);
}

TEST(PlanPage, TargetsAndRoutes) {
  const auto plan = fixture("plan.json");
  const auto html = page_or_fail(migrate::render_plan_page(plan));
  expect_self_contained(html);
  const auto plot = svg_with_id(html, "plan-records");
  ASSERT_TRUE(plot);
  EXPECT_EQ(data_values(*plot, "docs"), (std::vector<double>{200}));
  EXPECT_EQ(data_values(*plot, "notes"), (std::vector<double>{50}));
  EXPECT_NE(html.find("docs_v1: default (120); docs_v2: default (80)"), std::string::npos);
  EXPECT_NE(html.find("id=\"estimated-import-seconds\">1.25 s<"), std::string::npos);
}

TEST(InspectPage, HealthPerCollection) {
  const auto inspection = fixture("persist_inspect.json");
  const auto html = page_or_fail(migrate::render_inspect_page(inspection, "persist_inspect.json"));
  expect_self_contained(html);
  EXPECT_NE(html.find("VECTORS LOST"), std::string::npos);
  const auto plot = svg_with_id(html, "inspect-records");
  ASSERT_TRUE(plot);
  EXPECT_EQ(data_values(*plot, "docs"), (std::vector<double>{100, 3}));
  EXPECT_NE(html.find("data_level0.bin truncated"), std::string::npos);
}

TEST(HtmlPage, AViewThatThrowsIsAnErrorNotAnException) {
  // (mstch itself renders even an unclosed section; what throws is view code reading a report.)
  const auto page = report::build_and_render("{{a}}", []() -> json {
    return json::parse("[1]").at(0).at("missing");  // type_error, as a field of the wrong type
  });
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::kInternal);
  EXPECT_NE(page.error().message.find("building the page's view"), std::string::npos);
}

TEST(HtmlPage, AFailedPageIsWarnedAboutAndNoStalePageStays) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cm_report_pages_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto json_path = dir / "r.json";
  ASSERT_TRUE(report::write_page_beside(json_path, std::string("<p>old</p>")));
  EXPECT_TRUE(std::filesystem::exists(dir / "r.html"));
  const Result<std::string> failed = make_error(ErrorCode::kInternal, "boom");
  EXPECT_FALSE(report::write_page_beside(json_path, failed));
  EXPECT_FALSE(std::filesystem::exists(dir / "r.html"));
  std::filesystem::remove_all(dir);
}

TEST(HtmlPage, NumbersKeepTheirJsonText) {
  const auto page = report::render_page("{{a}} {{b}} {{c}}", {{"a", 3}, {"b", 0.25}, {"c", -2}});
  ASSERT_TRUE(page);
  EXPECT_EQ(*page, "3 0.25 -2");
}

}  // namespace
}  // namespace cm
