#include "migrate/summary_page.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "common/report/html_page.hpp"
#include "common/report/svg_plot.hpp"

namespace cm::migrate {

// migrate/templates/*.mustache, embedded (cmake/embed_text.cmake).
extern const std::string_view kSummaryPageTemplate;
extern const std::string_view kInspectPageTemplate;
extern const std::string_view kPlanPageTemplate;

namespace {

using nlohmann::json;

std::string joined(const json& list) {
  std::string out;
  for (const auto& v : list.is_array() ? list : json::array())
    out += (out.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// In the order the phases run (the JSON object's keys are sorted), any other after them.
std::string phase_plot(const json& s) {
  report::BarChart chart{.id = "phase-seconds", .title = "seconds per phase", .unit = "s"};
  const auto& phases = report::object_at(s, "phase_seconds");
  const std::vector<std::string> order = {"init", "export", "transform", "import", "verify"};
  // A pipelined run imports during the export: its bar says so, or the import would look free.
  const bool pipelined = report::field_number(s, "records_sent_during_export") > 0;
  const auto add = [&](const std::string& phase, const json& seconds) {
    const std::string label = pipelined && phase == "export" ? "export + import" : phase;
    chart.rows.push_back({label, {seconds.is_number() ? seconds.get<double>() : 0.0}});
  };
  for (const auto& phase : order)
    if (phases.contains(phase)) add(phase, phases[phase]);
  for (const auto& [phase, seconds] : phases.items())
    if (std::find(order.begin(), order.end(), phase) == order.end()) add(phase, seconds);
  return report::horizontal_bars(chart);
}

std::string rate_plot(const json& s) {
  report::LineChart chart{.id = "import-rate",
                          .title = "import progress: records imported over time",
                          .x_label =
                              "seconds since the import started (the slope is the import "
                              "rate)",
                          .y_label = "records imported"};
  for (const auto& p : report::array_at(report::object_at(s, "import_rate"), "samples")) {
    if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
      chart.points.push_back({p[0].get<double>(), p[1].get<double>()});
  }
  return report::line_chart(chart);
}

json collections(const json& s, std::string* plot) {
  report::BarChart chart{
      .id = "collection-records", .title = "records per target collection", .unit = ""};
  json rows = json::array();
  for (const auto& t : s.value("target_collections", json::array())) {
    chart.rows.push_back(
        {report::field_text(t, "name"), {report::field_number(t, "expected_records")}});
    rows.push_back({{"name", report::field_text(t, "name")},
                    {"route", joined(t.value("source_collections", json::array())) + " \u2192 " +
                                  report::field_text(t, "name")},
                    {"action", report::field_text(t, "action")},
                    {"state", report::field_text(t, "state")},
                    {"staging_name", report::field_text(t, "staging_name")},
                    {"records", report::field_text(t, "expected_records")}});
  }
  *plot = report::horizontal_bars(chart);
  return rows;
}

// Each sync's delta per source collection, and one bar group per sync (added, changed, deleted).
json syncs(const json& s, std::string* plot) {
  report::BarChart chart{.id = "sync-deltas",
                         .title = "changes applied per sync",
                         .unit = "",
                         .series = {"added", "changed", "deleted", "conflicts"}};
  json rows = json::array();
  for (const auto& sync : s.value("syncs", json::array())) {
    double sum[4] = {0, 0, 0, 0};
    for (const auto& [name, c] : report::object_at(sync, "collections").items()) {
      const char* keys[] = {"added", "changed", "deleted", "conflicts"};
      for (int k = 0; k < 4; ++k) sum[k] += report::field_number(c, keys[k]);
      rows.push_back({{"generation", report::field_text(sync, "generation")},
                      {"at", report::field_text(sync, "at")},
                      {"collection", name},
                      {"added", report::field_text(c, "added")},
                      {"changed", report::field_text(c, "changed")},
                      {"deleted", report::field_text(c, "deleted")},
                      {"conflicts", report::field_text(c, "conflicts")},
                      {"converged", sync.value("converged", false)},
                      {"final", sync.value("final", false)}});
    }
    chart.rows.push_back(
        {"sync " + report::field_text(sync, "generation"), {sum[0], sum[1], sum[2], sum[3]}});
  }
  *plot = rows.empty() ? "" : report::horizontal_bars(chart);
  return rows;
}

}  // namespace

json summary_page_view(const json& s) {
  std::string collection_plot, sync_plot;
  json collection_rows = collections(s, &collection_plot);
  json sync_rows = syncs(s, &sync_plot);
  return {
      {"run_id", report::field_text(s, "run_id")},
      {"dry_run", s.value("dry_run", false)},
      {"resumed", s.value("resumed", false)},
      {"finished_at", report::field_text(s, "finished_at")},
      {"collections", report::field_text(s, "collections")},
      {"records", report::field_text(s, "records")},
      {"records_sent", report::field_text(s, "records_sent")},
      {"seconds", report::figure_text(report::field_number(s, "seconds"))},
      {"records_per_second", report::figure_text(report::field_number(s, "records_per_second"))},
      {"retries", report::field_text(s, "retries")},
      {"peak_rss_mb", report::figure_text(report::field_number(s, "peak_rss_mb"))},
      {"unrecoverable",
       s.value("unrecoverable_at_source", json::object()).empty()
           ? ""
           : s["unrecoverable_at_source"].dump(2, ' ', false, json::error_handler_t::replace)},
      {"phase_plot", phase_plot(s)},
      {"rate_plot", rate_plot(s)},
      {"collection_plot", collection_plot},
      {"collection_rows", collection_rows},
      {"sync_plot", sync_plot},
      {"sync_rows", sync_rows},
      {"has_syncs", !sync_rows.empty()},
      {"tool", "chroma-migrate"},
      {"tool_version", CHROMA_MIGRATE_VERSION},
      {"json_file", "migration_summary.json"}};
}

Result<std::string> render_summary_page(const json& summary) {
  return report::build_and_render(kSummaryPageTemplate, [&] { return summary_page_view(summary); });
}

json plan_page_view(const json& plan) {
  report::BarChart chart{
      .id = "plan-records", .title = "records planned per target collection", .unit = ""};
  json rows = json::array();
  for (const auto& t : plan.value("targets", json::array())) {
    chart.rows.push_back({report::field_text(t, "name"), {report::field_number(t, "records")}});
    std::string from;
    for (const auto& [route, n] : report::object_at(t, "from").items())
      from += (from.empty() ? "" : "; ") + route + " (" + n.dump() + ")";
    rows.push_back({{"name", report::field_text(t, "name")},
                    {"action", report::field_text(t, "action")},
                    {"exists_now", t.value("exists_now", false)},
                    {"records", report::field_text(t, "records")},
                    {"from", from}});
  }
  const auto exported = plan.value("export", json::object());
  const auto pretty = [&](const char* key) {
    return plan.contains(key) ? plan[key].dump(2, ' ', false, json::error_handler_t::replace)
                              : std::string();
  };
  return {
      {"run_id", report::field_text(plan, "run_id")},
      {"source", report::field_text(plan, "source")},
      {"target", report::field_text(plan, "target")},
      {"target_kind", report::field_text(plan, "target_kind")},
      {"batch_size", report::field_text(plan, "batch_size")},
      {"workers", report::field_text(plan, "workers")},
      {"exported", report::field_text(exported, "records")},
      {"export_seconds", report::figure_text(report::field_number(exported, "seconds"))},
      {"export_rate", report::figure_text(report::field_number(exported, "records_per_second"))},
      {"estimated_import_seconds",
       report::figure_text(report::field_number(plan, "estimated_import_seconds"))},
      {"preflight", report::field_text(plan, "preflight")},
      {"plot", report::horizontal_bars(chart)},
      {"rows", rows},
      {"schema_change", pretty("schema_change")},
      {"samples", pretty("samples")},
      {"source_health_table", report::field_text(plan, "source_health_table")},
      {"tool", "chroma-migrate --dry-run"},
      {"tool_version", CHROMA_MIGRATE_VERSION},
      {"json_file", "plan.json"}};
}

Result<std::string> render_plan_page(const json& plan) {
  return report::build_and_render(kPlanPageTemplate, [&] { return plan_page_view(plan); });
}

json inspect_page_view(const json& inspection, const std::string& json_file) {
  report::BarChart chart{.id = "inspect-records",
                         .title = "records per collection: recoverable vs lost",
                         .unit = "",
                         .series = {"records", "unrecoverable"}};
  json rows = json::array();
  for (const auto& c : inspection.value("collections", json::array())) {
    const std::string name = report::field_text(c, "tenant") + "/" +
                             report::field_text(c, "database") + "/" +
                             report::field_text(c, "collection");
    chart.rows.push_back(
        {report::field_text(c, "collection"),
         {report::field_number(c, "records"), report::field_number(c, "unrecoverable")}});
    rows.push_back(
        {{"name", name},
         {"space", report::field_text(c, "space")},
         {"records", report::field_text(c, "records")},
         {"queue_only_records", report::field_text(c, "queue_only_records")},
         {"recovered_from_queue", report::field_text(c, "vectors_recovered_from_queue")},
         {"unrecoverable", report::field_text(c, "unrecoverable")},
         {"fragmentation", report::figure_text(report::field_number(c, "fragmentation"))},
         {"ok", c.value("every_vector_recoverable", false)},
         {"damage", joined(c.value("damage", json::array()))},
         {"sample", joined(c.value("unrecoverable_sample", json::array()))}});
  }
  return {{"source", report::field_text(inspection, "source")},
          {"inspected_at", report::field_text(inspection, "inspected_at")},
          {"ok", inspection.value("every_vector_recoverable", false)},
          {"records", report::field_text(inspection, "records")},
          {"unrecoverable", report::field_text(inspection, "unrecoverable")},
          {"orphans", joined(inspection.value("orphan_segment_folders", json::array()))},
          {"plot", report::horizontal_bars(chart)},
          {"rows", rows},
          {"tool", "chroma-migrate --inspect"},
          {"tool_version", CHROMA_MIGRATE_VERSION},
          {"json_file", json_file}};
}

Result<std::string> render_inspect_page(const json& inspection, const std::string& json_file) {
  return report::build_and_render(kInspectPageTemplate,
                                  [&] { return inspect_page_view(inspection, json_file); });
}

}  // namespace cm::migrate
