#include "validate/html_page.hpp"

#include <optional>

#include <fmt/format.h>

#include "common/report/html_page.hpp"
#include "common/report/svg_plot.hpp"

namespace cm::validate {

// validate/templates/validation_report.mustache, embedded (cmake/embed_text.cmake).
extern const std::string_view kValidationPageTemplate;

namespace {

using nlohmann::json;

// Never throws on invalid UTF-8 (an id is arbitrary bytes).
std::string pretty(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

// A copy: value() returns one, and a pointer into it would dangle.
std::optional<json> find_test(const json& report, const char* name) {
  for (const auto& t : report.value("tests", json::array())) {
    if (t.is_object() && t.value("name", "") == name) return t;
  }
  return std::nullopt;
}

// One histogram per source collection that has one (reports before the field lack it).
json recall_plots(const json& report) {
  json plots = json::array();
  // (validate/checks/semantic_search.cpp's name; verdict.cpp also knows an older "semantic_search")
  auto test = find_test(report, "semantic_search_equivalence");
  if (!test) test = find_test(report, "semantic_search");
  if (!test) return plots;
  const double threshold =
      report::field_number(test->value("thresholds", json::object()), "recall_threshold");
  const auto per = test->value("figures", json::object()).value("collections", json::object());
  std::size_t n = 0;
  for (const auto& [name, c] : per.items()) {
    if (!c.contains("recall_histogram")) continue;
    const auto& h = c["recall_histogram"];
    const double width =
        report::field_number(h, "bin_width") > 0 ? report::field_number(h, "bin_width") : 0.1;
    report::Histogram chart{
        .id = fmt::format("recall-{}", n++),
        .title = fmt::format("recall@{} of {} ({} queries)",
                             report::field_text(test->value("figures", json::object()), "k"), name,
                             report::field_text(c, "queries")),
        .x_label = "recall@k of a query against the exact top-k",
        .width = 470};
    const auto counts = h.value("counts", json::array());
    for (std::size_t i = 0; i <= counts.size(); ++i)
      chart.edges.push_back(report::figure_text(static_cast<double>(i) * width));
    for (std::size_t i = 0; i < counts.size(); ++i) {
      // Ranges, not points: the last bin holds recall 1.0 itself.
      chart.bins.push_back({fmt::format("{:.1f}\u2013{:.1f}", static_cast<double>(i) * width,
                                        static_cast<double>(i + 1) * width),
                            counts[i].is_number() ? counts[i].get<double>() : 0.0});
    }
    chart.marker = report::Marker{threshold / width, fmt::format("threshold {}", threshold)};
    plots.push_back({{"svg", report::histogram(chart)}});
  }
  return plots;
}

std::string count_plot(const json& report) {
  const auto test = find_test(report, "count_verification");
  if (!test) return "";
  report::BarChart chart{.id = "count-records",
                         .title = "records per target collection: expected vs actual",
                         .unit = "",
                         .series = {"expected", "actual"}};
  const auto per = test->value("figures", json::object()).value("collections", json::object());
  for (const auto& [name, c] : per.items())
    chart.rows.push_back(
        {name, {report::field_number(c, "expected"), report::field_number(c, "actual")}});
  return report::horizontal_bars(chart);
}

std::string embedding_plot(const json& report) {
  const auto test = find_test(report, "embedding_integrity");
  if (!test) return "";
  const auto h = test->value("figures", json::object()).value("max_abs_error_histogram", json());
  if (!h.is_object()) return "";
  report::Histogram chart{
      .id = "embedding-errors",
      .title = "embedding error: largest |expected - actual| component per record",
      .x_label = "max absolute error (bin: from this decade to the next)"};
  for (const auto& b : h.value("bins", json::array()))
    chart.bins.push_back({report::field_text(b, "label"), report::field_number(b, "count")});
  return report::histogram(chart);
}

std::string seconds_plot(const json& report) {
  report::BarChart chart{.id = "test-seconds", .title = "seconds per test", .unit = "s"};
  for (const auto& t : report.value("tests", json::array()))
    chart.rows.push_back({report::field_text(t, "title"), {report::field_number(t, "seconds")}});
  return report::horizontal_bars(chart);
}

// The figures people read first: the top-level numbers, texts and booleans (the nested ones stay
// in the JSON block under them).
json scalar_figures(const json& figures) {
  json rows = json::array();
  if (!figures.is_object()) return rows;
  for (const auto& [key, value] : figures.items()) {
    if (value.is_number()) {
      rows.push_back({{"key", key}, {"value", report::figure_text(value.get<double>())}});
    } else if (value.is_string() || value.is_boolean()) {
      rows.push_back(
          {{"key", key}, {"value", value.is_string() ? value.get<std::string>() : value.dump()}});
    }
  }
  return rows;
}

json test_views(const json& report) {
  json out = json::array();
  std::size_t i = 0;
  for (const auto& t : report.value("tests", json::array())) {
    json samples = json::array();
    for (const auto& s : t.value("samples", json::array()))
      samples.push_back(s.is_string() ? s.get<std::string>() : s.dump());
    json findings = json::array();
    for (const auto& f : t.value("findings", json::array()))
      findings.push_back(f.is_string() ? f.get<std::string>() : pretty(f));
    const json figures = scalar_figures(t.value("figures", json::object()));
    out.push_back({{"index", ++i},
                   {"name", report::field_text(t, "name")},
                   {"title", report::field_text(t, "title")},
                   {"status", report::field_text(t, "status")},
                   {"seconds", report::figure_text(report::field_number(t, "seconds"))},
                   {"rollback_reason", report::field_text(t, "rollback_reason")},
                   {"findings", findings},
                   {"samples", samples},
                   {"has_samples", !samples.empty()},
                   {"scalar_figures", figures},
                   {"has_figures", !figures.empty()},
                   {"thresholds", pretty(t.value("thresholds", json::object()))},
                   {"figures", pretty(t.value("figures", json::object()))}});
  }
  return out;
}

}  // namespace

json validation_page_view(const json& report, const std::string& json_file) {
  const auto summary = report.value("summary", json::object());
  json header = json::array();
  const auto row = [&](const char* key, std::string value) {
    if (!value.empty()) header.push_back({{"key", key}, {"value", std::move(value)}});
  };
  row("run", report::field_text(report, "run_id"));
  row("mode", report::field_text(report, "mode"));
  row("source", report::field_text(report, "source"));
  row("target", report::field_text(report, "target"));
  row("work dir", report::field_text(report, "work_dir"));
  row("started", report::field_text(report, "started_at"));
  row("elapsed", report::figure_text(report::field_number(report, "elapsed_seconds")) + " s");
  row("tool version", report::field_text(report, "tool_version"));
  json reasons = json::array();
  for (const auto& r : report.value("rollback_reasons", json::array()))
    reasons.push_back(r.is_string() ? r.get<std::string>() : r.dump());
  return {
      {"status", report::field_text(report, "overall_status")},
      {"run_id", report::field_text(report, "run_id")},
      {"started_at", report::field_text(report, "started_at")},
      {"rollback_triggered", report.value("rollback_triggered", false)},
      {"rollback_reasons", reasons},
      {"data_loss", report::figure_text(report::field_number(report, "data_loss_percentage"))},
      {"semantic_divergence",
       report::figure_text(report::field_number(report, "semantic_divergence_percentage"))},
      {"tests_line",
       fmt::format("{} tests: {} passed, {} warnings, {} failed, {} errors, {} not "
                   "applicable",
                   report::field_text(summary, "total"), report::field_text(summary, "passed"),
                   report::field_text(summary, "warnings"), report::field_text(summary, "failed"),
                   report::field_text(summary, "errors"),
                   report::field_text(summary, "not_applicable"))},
      {"header", header},
      {"recall_plots", recall_plots(report)},
      {"count_plot", count_plot(report)},
      {"embedding_plot", embedding_plot(report)},
      {"seconds_plot", seconds_plot(report)},
      {"tests", test_views(report)},
      {"tool", "chroma-validate"},
      {"tool_version", report::field_text(report, "tool_version")},
      {"json_file", json_file},
  };
}

Result<std::string> render_validation_page(const nlohmann::json& report,
                                           const std::string& json_file) {
  return report::build_and_render(kValidationPageTemplate,
                                  [&] { return validation_page_view(report, json_file); });
}

}  // namespace cm::validate
