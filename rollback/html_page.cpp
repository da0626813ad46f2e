#include "rollback/html_page.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/report/html_page.hpp"
#include "common/report/svg_plot.hpp"
#include "rollback/report.hpp"
#include "rollback/timestamps.hpp"

namespace cm::rollback {

// rollback/templates/rollback_report.mustache, embedded (cmake/embed_text.cmake).
extern const std::string_view kRollbackPageTemplate;

namespace {

using nlohmann::json;

// A figure in seconds, "?" when the report could not compute it (null).
std::string seconds(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number()
             ? report::figure_text(j[key].get<double>())
             : "?";
}

// Each action's span: it ended at `at` and took `seconds`; placed from the rollback's start.
json timeline(const json& r) {
  report::Timeline chart{.id = "actions-timeline",
                         .title = "actions (seconds from the rollback's start)"};
  const auto start = parse_iso8601(report::field_text(r, "started_at"));
  json rows = json::array();
  for (const auto& a : r.value("actions", json::array())) {
    const auto at = parse_iso8601(report::field_text(a, "at"));
    const double took = report::field_number(a, "seconds");
    const double from = start && at ? std::max(0.0, *at - took - *start) : 0.0;
    std::string label = report::field_text(a, "action");
    if (const std::string collection = report::field_text(a, "collection"); !collection.empty()) {
      label.append(" ").append(
          collection);  // (" " + report::field_text(...) trips GCC 12's -Wstringop-overflow)
    }
    chart.spans.push_back({label, from, took, false, report::field_text(a, "action")});
    rows.push_back({{"action", report::field_text(a, "action")},
                    {"collection", report::field_text(a, "collection")},
                    {"detail", report::field_text(a, "detail")},
                    {"at", report::field_text(a, "at")},
                    {"seconds", report::figure_text(took)}});
  }
  return {{"svg", report::timeline(chart)}, {"rows", rows}};
}

json downtime(const json& r) {
  report::BarChart chart{.id = "downtime", .title = "downtime per live name", .unit = "s"};
  json rows = json::array();
  for (const auto& d : r.value("downtime", json::array())) {
    chart.rows.push_back(
        {report::field_text(d, "live_name"), {report::field_number(d, "seconds")}});
    rows.push_back({{"live_name", report::field_text(d, "live_name")},
                    {"action", report::field_text(d, "action")},
                    {"path", report::field_text(d, "path")},
                    {"disrupted_at", report::field_text(d, "disrupted_at")},
                    {"restored_at", report::field_text(d, "restored_at")},
                    {"seconds", seconds(d, "seconds")},
                    {"note", report::field_text(d, "note")}});
  }
  return {{"svg", report::horizontal_bars(chart)}, {"rows", rows}};
}

json verification(const json& v) {
  json rows = json::array();
  for (const auto& c : v.value("collections", json::array())) {
    std::string problems;
    for (const auto& p : c.value("problems", json::array()))
      problems += (problems.empty() ? "" : "; ") + (p.is_string() ? p.get<std::string>() : "");
    rows.push_back({{"name", report::field_text(c, "name")},
                    {"expect", report::field_text(c, "expect")},
                    {"expected_records", report::field_text(c, "expected_records")},
                    {"actual_records", report::field_text(c, "actual_records")},
                    {"records_compared", report::field_text(c, "records_compared")},
                    {"mismatches", report::field_text(c, "mismatches")},
                    {"ok", c.value("ok", false)},
                    {"problems", problems}});
  }
  json source_problems = json::array();
  for (const auto& p : report::array_at(report::object_at(v, "source"), "problems"))
    source_problems.push_back(p.is_string() ? p.get<std::string>() : p.dump());
  return {{"ok", v.value("ok", false)},
          {"records_compared", report::field_text(v, "records_compared")},
          {"mismatches", report::field_text(v, "record_mismatches")},
          {"source_status", report::field_text(v.value("source", json::object()), "status")},
          {"source_detail", report::field_text(v.value("source", json::object()), "detail")},
          {"source_problems", source_problems},
          {"rows", rows}};
}

json restores(const json& r) {
  json rows = json::array();
  for (const auto& x : r.value("restores", json::array())) {
    rows.push_back({{"name", report::field_text(x, "name")},
                    {"records", report::field_text(x, "records")},
                    {"seconds", seconds(x, "seconds")}});
  }
  return rows;
}

json archived(const json& r) {
  json rows = json::array();
  for (const auto& [name, records] :
       report::object_at(report::object_at(r, "archive"), "collections").items()) {
    rows.push_back({{"name", name}, {"records", records.dump()}});
  }
  return rows;
}

}  // namespace

json rollback_page_view(const json& r) {
  std::string paths;
  for (const auto& p : r.value("paths", json::array()))
    paths += (paths.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : p.dump());
  const auto trigger = r.value("trigger", json::object());
  const json restored = restores(r), archive = archived(r);
  return {
      {"status", report::field_text(r, "status")},
      {"run_id", report::field_text(r, "run_id")},
      {"trigger", trigger_text(trigger)},
      {"validation_report", report::field_text(trigger, "report")},
      {"paths", paths.empty() ? "none" : paths},
      {"target", report::field_text(r, "target")},
      {"work_dir", report::field_text(r, "work_dir")},
      {"started_at", report::field_text(r, "started_at")},
      {"finished_at", report::field_text(r, "finished_at")},
      {"total_seconds", seconds(r, "total_seconds")},
      {"live_restored_seconds", seconds(r, "live_restored_seconds")},
      {"swap_seconds", seconds(r, "first_change_to_live_restored_seconds")},
      {"backup_verify_seconds", seconds(r, "backup_verify_seconds")},
      {"restored_records", report::field_text(r, "restored_records")},
      {"restore_rate", report::figure_text(report::field_number(r, "restore_records_per_second"))},
      {"timeline", timeline(r)},
      {"downtime", downtime(r)},
      {"restores", restored},
      {"has_restores", !restored.empty()},
      {"archive_path", report::field_text(r.value("archive", json::object()), "path")},
      {"archived", archive},
      {"has_archived", !archive.empty()},
      {"kept_records_of_others", report::field_text(r, "kept_records_of_others")},
      {"verification", verification(r.value("verification", json::object()))},
      {"tool", "chroma-rollback"},
      {"tool_version", CHROMA_MIGRATE_VERSION},
      {"json_file", "rollback_report.json"}};
}

Result<std::string> render_rollback_page(const json& report) {
  return report::build_and_render(kRollbackPageTemplate,
                                  [&] { return rollback_page_view(report); });
}

}  // namespace cm::rollback
