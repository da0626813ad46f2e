#include "validate/report.hpp"

#include <fmt/format.h>

#include "common/base/atomic_file.hpp"
#include "common/report/html_page.hpp"
#include "validate/html_page.hpp"
#include "validate/source_drift.hpp"

namespace cm::validate {
namespace {

std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

double number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

// Never throws: invalid UTF-8 (an id is arbitrary bytes) is replaced.
std::string dump(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Table cells must not break the table.
std::string cell(std::string s) {
  for (std::size_t pos = 0; (pos = s.find('|', pos)) != std::string::npos; pos += 2)
    s.replace(pos, 1, "\\|");
  for (auto& c : s) c = c == '\n' ? ' ' : c;
  return s;
}

}  // namespace

nlohmann::json check_result_to_json(const CheckResult& r) {
  return {
      {"name", r.name},       {"title", r.title},           {"status", status_name(r.status)},
      {"figures", r.figures}, {"thresholds", r.thresholds}, {"findings", r.findings},
      {"samples", r.samples}, {"seconds", r.seconds},       {"rollback_reason", r.rollback_reason}};
}

nlohmann::json report_to_json(const ReportHeader& h, const Verdict& v,
                              const std::vector<CheckResult>& results) {
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& r : results) tests.push_back(check_result_to_json(r));
  nlohmann::json report = {
      {"overall_status", status_name(v.overall)},
      {"rollback_triggered", v.rollback_triggered()},
      {"rollback_reason", v.rollback_reason()},
      {"rollback_reasons", v.rollback_reasons},
      {"data_loss_percentage", v.data_loss_percentage},
      {"semantic_divergence_percentage", v.semantic_divergence_percentage},
      {"summary",
       {{"total", results.size()},
        {"passed", v.passed},
        {"warnings", v.warnings},
        {"failed", v.failed},
        {"errors", v.errors},
        {"not_applicable", v.not_applicable}}},
      {"tests", tests},
      {"run_id", h.run_id},
      {"source", h.source},
      {"target", h.target},
      {"work_dir", h.work_dir},
      {"started_at", h.started_at},
      {"elapsed_seconds", h.elapsed_seconds},
      {"tool_version", h.tool_version},
  };
  for (const auto& [key, value] : h.extra.items()) report[key] = value;
  return report;
}

namespace {

// Records whose vector was lost at a persist source before the run (run.json
// unrecoverable_at_source): one line per collection.
std::vector<std::string> unrecoverable_lines(const nlohmann::json& report) {
  std::vector<std::string> out;
  const auto u = report.value("unrecoverable_at_source", nlohmann::json::object());
  const auto collections = u.value("collections", nlohmann::json::object());
  for (const auto& [name, c] : collections.items()) {
    std::string sample;
    for (const auto& id : c.value("sample", nlohmann::json::array())) {
      sample += (sample.empty() ? "" : ", ") + id.get<std::string>();
    }
    out.push_back(fmt::format("{}: {} record(s), e.g. {}", name, c.value("count", 0), sample));
  }
  return out;
}

}  // namespace

std::string render_markdown(const nlohmann::json& report) {
  std::string md = "# Validation report: " + text(report, "overall_status") + "\n\n";
  md += "| | |\n| --- | --- |\n";
  md += "| run | `" + cell(text(report, "run_id")) + "` |\n";
  md += "| source | " + cell(text(report, "source")) + " |\n";
  md += "| target | " + cell(text(report, "target")) + " |\n";
  md += "| work dir | `" + cell(text(report, "work_dir")) + "` |\n";
  md += "| started | " + text(report, "started_at") + " |\n";
  md += fmt::format("| elapsed | {:.2f} s |\n", number(report, "elapsed_seconds"));
  md += "| overall status | **" + text(report, "overall_status") + "** |\n";
  const bool rollback = report.value("rollback_triggered", false);
  md += "| rollback triggered | " +
        (rollback ? "**yes**: " + cell(text(report, "rollback_reason")) : std::string("no")) +
        " |\n";
  md += fmt::format("| data loss | {:.4g} % |\n", number(report, "data_loss_percentage"));
  md += fmt::format("| semantic divergence | {:.4g} % |\n",
                    number(report, "semantic_divergence_percentage"));
  md += "| tool version | " + text(report, "tool_version") + " |\n\n";

  md +=
      "## Tests\n\n| # | test | status | seconds | rollback reason |\n| ---: | --- | --- | ---: | "
      "--- |\n";
  const auto tests = report.value("tests", nlohmann::json::array());
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const auto& t = tests[i];
    md += fmt::format("| {} | {} | {} | {:.2f} | {} |\n", i + 1, cell(text(t, "title")),
                      text(t, "status"), number(t, "seconds"), cell(text(t, "rollback_reason")));
  }
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const auto& t = tests[i];
    md += fmt::format("\n## {}. {} — {}\n\n", i + 1, text(t, "title"), text(t, "status"));
    for (const auto& f : t.value("findings", nlohmann::json::array())) {
      md += "- " + (f.is_string() ? f.get<std::string>() : dump(f)) + "\n";
    }
    const auto samples = t.value("samples", nlohmann::json::array());
    if (!samples.empty()) {
      md += "\nSample ids:";
      for (const auto& s : samples)
        md += " `" + (s.is_string() ? s.get<std::string>() : dump(s)) + "`";
      md += "\n";
    }
    md += "\nThresholds: `" + dump(t.value("thresholds", nlohmann::json::object())) + "`\n";
    md += "\n<details><summary>Figures</summary>\n\n```json\n" +
          dump(t.value("figures", nlohmann::json::object()), 2) + "\n```\n\n</details>\n";
  }
  if (const auto lines = unrecoverable_lines(report); !lines.empty()) {
    md +=
        "\n## Unrecoverable at the source\n\nRecords whose vector was lost in the source persist "
        "directory before the run (no segment or queue copy left): not migrated, not counted as "
        "migration data loss. Every id: `" +
        cell(text(report["unrecoverable_at_source"], "file")) + "` in the work dir.\n\n";
    for (const auto& l : lines) md += "- " + cell(l) + "\n";
  }
  return md + render_drift_markdown(report);
}

std::string render_console_summary(const nlohmann::json& report,
                                   const std::filesystem::path& json_path) {
  const auto s = report.value("summary", nlohmann::json::object());
  std::string out = "==================== chroma-validate summary ====================\n";
  for (const auto& t : report.value("tests", nlohmann::json::array())) {
    out += fmt::format(
        "  {:<8} {:<28} {:>7.2f} s{}\n", text(t, "status"), text(t, "name"), number(t, "seconds"),
        text(t, "rollback_reason").empty() ? "" : "  -> " + text(t, "rollback_reason"));
  }
  out += fmt::format("  total tests:        {} (passed {}, warnings {}, failed {}, errors {}{})\n",
                     s.value("total", 0), s.value("passed", 0), s.value("warnings", 0),
                     s.value("failed", 0), s.value("errors", 0),
                     s.value("not_applicable", 0)
                         ? fmt::format(", not applicable {}", s.value("not_applicable", 0))
                         : std::string());
  if (report.contains("mode")) out += "  mode:               " + text(report, "mode") + "\n";
  out += fmt::format("  elapsed:            {:.2f} s\n", number(report, "elapsed_seconds"));
  out += "  overall status:     " + text(report, "overall_status") + "\n";
  out +=
      "  rollback triggered: " +
      (report.value("rollback_triggered", false) ? "YES (" + text(report, "rollback_reason") + ")"
                                                 : std::string("no")) +
      "\n";
  for (const auto& l : unrecoverable_lines(report)) {
    out += "  unrecoverable at the source (lost before the run, not migrated): " + l + "\n";
  }
  out += render_drift_console(report);
  out += "  reports:            " + json_path.string() + "\n                      " +
         markdown_path_for(json_path).string() + "\n";
  // A page that failed was warned about by name, and no stale page is left behind.
  const auto html = report::html_path_for(json_path);
  out += "  html page:          " +
         (std::filesystem::exists(html) ? html.string() : "(not written: see the warning above)") +
         "\n";
  return out;
}

std::filesystem::path markdown_path_for(const std::filesystem::path& json_path) {
  auto md = json_path;
  md.replace_extension(".md");
  return md;
}

Status write_reports(const nlohmann::json& report, const std::filesystem::path& json_path) {
  // Markdown and HTML first: the JSON is the record, so when it exists the pages beside it are
  // current. A page that cannot be rendered or written is a warning (and no stale page is left),
  // never a different verdict or exit code: the JSON and the Markdown still say everything.
  CM_RETURN_IF_ERROR(write_file_atomic(markdown_path_for(json_path), render_markdown(report)));
  report::write_page_beside(json_path,
                            render_validation_page(report, json_path.filename().string()));
  // dump() with replace: invalid UTF-8 in an id must not abort the report.
  return write_file_atomic(json_path, dump(report, 2) + "\n");
}

}  // namespace cm::validate
