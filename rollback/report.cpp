#include "rollback/report.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/base/atomic_file.hpp"
#include "common/report/html_page.hpp"
#include "rollback/html_page.hpp"
#include "rollback/timestamps.hpp"

namespace cm::rollback {

namespace {

// b - a in seconds; nullopt when either is missing or malformed.
std::optional<double> seconds_between(const std::string& a, const std::string& b) {
  auto x = parse_iso8601(a), y = parse_iso8601(b);
  if (!x || !y) return std::nullopt;
  return std::max(0.0, *y - *x);
}

nlohmann::json id_list_json(const IdList& l) {
  return {{"count", l.count}, {"ids", l.ids}};
}

nlohmann::json downtime(const Journal& j, double* last_restored) {
  auto out = nlohmann::json::array();
  for (const auto& l : j.live) {
    nlohmann::json seconds = 0.0;
    if (!l.disrupted_at.empty()) {
      auto s = seconds_between(l.disrupted_at, l.restored_at);
      seconds = s ? nlohmann::json(*s) : nlohmann::json(nullptr);
    }
    if (auto r = seconds_between(j.started_at, l.restored_at); r && !l.disrupted_at.empty()) {
      *last_restored = std::max(*last_restored, *r);
    }
    out.push_back({{"live_name", l.name},
                   {"action", enum_name(l.action)},
                   {"path", enum_name(l.path)},
                   {"note", l.note},
                   {"disrupted_at", l.disrupted_at},
                   {"restored_at", l.restored_at},
                   {"seconds", seconds}});
  }
  return out;
}

// How long the live names took once the first change was sent (the rename swap itself, for path
// A), and how long the backup verification took (before the first change, or for path A right
// after the swap-back, which destroys nothing and so does not wait for it).
std::pair<double, double> phase_figures(const Journal& j) {
  std::optional<double> first_change, last_restored;
  double verify = 0;
  for (const auto& a : j.actions) {
    if (a.action == ActionKind::kVerifyBackup && verify == 0) verify = a.seconds;
    if (a.action != ActionKind::kRename && a.action != ActionKind::kDrop &&
        a.action != ActionKind::kCreate)
      continue;
    if (auto at = parse_iso8601(a.at)) {
      first_change = std::min(first_change.value_or(*at), *at - a.seconds);
    }
  }
  for (const auto& l : j.live) {
    auto at = parse_iso8601(l.restored_at);
    if (at && !l.disrupted_at.empty()) last_restored = std::max(last_restored.value_or(*at), *at);
  }
  const double swap =
      first_change && last_restored ? std::max(0.0, *last_restored - *first_change) : 0.0;
  return {swap, verify};
}

}  // namespace

nlohmann::json build_report(const Journal& j, const Verification& v, const std::string& target,
                            const WorkDir& work) {
  double last_restored = 0;
  auto down = downtime(j, &last_restored);
  nlohmann::json archived = nlohmann::json::object();
  std::uint64_t archived_records = 0;
  for (const auto& a : j.archive) {
    archived[a.name] = a.records;
    archived_records += a.records;
  }
  auto restores = nlohmann::json::array();
  std::uint64_t timed = 0, restored = 0;
  double restore_seconds = 0;
  for (const auto& r : j.restores) {
    restores.push_back({{"name", r.name},
                        {"records", r.records},
                        {"parts", r.parts},
                        {"records_sent", r.records_sent},
                        {"seconds", r.upsert_seconds},
                        {"started_at", r.started_at},
                        {"finished_at", r.finished_at}});
    timed += r.timed_records;
    restored += r.records;
    restore_seconds += r.upsert_seconds;
  }
  // Records others wrote after the run: kept in merged collections, archived from dropped ones.
  auto merged = nlohmann::json::array();
  std::uint64_t kept_records = 0;
  for (const auto& mi : j.merges) {
    merged.push_back({{"name", mi.name},
                      {"collection_id", mi.collection_id},
                      {"state", enum_name(mi.state)},
                      {"backup_records", mi.backup_records},
                      {"deleted_added", mi.deleted_added},
                      {"restored", mi.restored},
                      {"rewritten_for_stale_keys", mi.rewritten},
                      {"kept_foreign", id_list_json(mi.foreign)},
                      {"kept_changed_after_run", id_list_json(mi.kept_changed)},
                      {"backup_records_changed_by_others", id_list_json(mi.others_changed)},
                      {"started_at", mi.started_at},
                      {"finished_at", mi.finished_at}});
    kept_records += mi.foreign.count + mi.kept_changed.count + mi.others_changed.count;
  }
  nlohmann::json others_archived = nlohmann::json::object();
  std::uint64_t others_archived_records = 0;
  for (const auto& a : j.archive) {
    if (!a.others_checked) continue;
    if (a.others_wrote.count == 0 && a.others_note.empty()) continue;
    others_archived[a.name] = {{"live_name", a.live_name},
                               {"count", a.others_wrote.count},
                               {"ids", a.others_wrote.ids},
                               {"note", a.others_note}};
    others_archived_records += a.others_wrote.count;
  }
  const auto total = seconds_between(j.started_at, j.finished_at);
  const auto [swap_seconds, verify_seconds] = phase_figures(j);
  return {
      {"run_id", j.run_id},
      {"status", v.ok() ? "ROLLED_BACK" : "VERIFY_FAILED"},
      {"work_dir", work.root().string()},
      {"target", target},
      {"started_at", j.started_at},
      {"finished_at", j.finished_at},
      {"total_seconds", total ? nlohmann::json(*total) : nlohmann::json(nullptr)},
      {"invocations", j.invocations},
      {"trigger", j.trigger},
      {"paths", j.paths},
      {"live_restored_seconds", last_restored},
      {"first_change_to_live_restored_seconds", swap_seconds},
      {"backup_verify_seconds", verify_seconds},
      {"downtime", down},
      {"archive",
       {{"path", j.archive.empty() ? "" : WorkDir::snapshot_relative(WorkDir::kArchiveSnapshot)},
        {"verified_at", j.archive_verified_at},
        {"collections", archived},
        {"records", archived_records},
        // Per archived collection: records the run did not write as they are (others wrote them
        // after the run); dropped from the target, kept only in the archive at "path".
        {"others_wrote", others_archived},
        {"others_wrote_records", others_archived_records}}},
      {"merged_in_place", merged},
      {"kept_records_of_others", kept_records},
      {"restores", restores},
      {"restored_records", restored},
      {"restore_records_per_second",
       restore_seconds > 0 ? static_cast<double>(timed) / restore_seconds : 0.0},
      {"verification", verification_to_json(v)},
      {"actions", journal_to_json(j)["actions"]},
  };
}

Status write_report(const WorkDir& work, const nlohmann::json& report) {
  // The page before the JSON (the record): when the JSON exists, the page beside it is current. A
  // page that fails is a warning naming it (report::write_page_beside), never a failed rollback.
  report::write_page_beside(work.rollback_report(), render_rollback_page(report));
  CM_RETURN_IF_ERROR(write_file_atomic(work.rollback_report(), report.dump(2) + "\n"));
  return write_file_atomic(work.rollback_report_md(), report_markdown(report));
}

std::string trigger_text(const nlohmann::json& t) {
  if (t.contains("backup")) {
    return "restore of the " + t["backup"].value("kind", "") + " backup " +
           t["backup"].value("path", "");
  }
  if (t.value("forced", false)) return "forced: " + t.value("reason", "");
  std::string reasons;
  for (const auto& r : t.value("rollback_reasons", nlohmann::json::array()))
    reasons += (reasons.empty() ? "" : "; ") + r.get<std::string>();
  return "validation " + t.value("overall_status", "") +
         (reasons.empty() ? "" : " (" + reasons + ")");
}

namespace {

// An IdList as JSON ({count, ids}): the ids, and "(N in all)" when more were not listed.
std::string id_list_text(const nlohmann::json& l) {
  std::string out;
  for (const auto& id : l["ids"]) out += (out.empty() ? "`" : ", `") + id.get<std::string>() + "`";
  const auto count = l["count"].get<std::uint64_t>();
  if (count > l["ids"].size()) out += fmt::format(" ... ({} in all)", count);
  return out;
}

std::string seconds_text(const nlohmann::json& s) {
  return s.is_number() ? fmt::format("{:.3f}", s.get<double>()) : std::string("?");
}

}  // namespace

std::string report_markdown(const nlohmann::json& r) {
  std::string md = "# Rollback report: " + r["status"].get<std::string>() + "\n\n";
  md += "| | |\n| --- | --- |\n";
  md += "| run | `" + r["run_id"].get<std::string>() + "` |\n";
  md += "| target | " + r["target"].get<std::string>() + " |\n";
  md += "| trigger | " + trigger_text(r["trigger"]) + " |\n";
  md += "| validation report | " + r["trigger"].value("report", "") + " |\n";
  std::string paths;
  for (const auto& p : r["paths"]) paths += (paths.empty() ? "" : ", ") + p.get<std::string>();
  md += "| path(s) | " + (paths.empty() ? std::string("none") : paths) + " |\n";
  md += "| started / finished | " + r["started_at"].get<std::string>() + " / " +
        r["finished_at"].get<std::string>() + " |\n";
  md += "| total seconds | " + seconds_text(r["total_seconds"]) + " |\n";
  md += "| live names restored after | " + seconds_text(r["live_restored_seconds"]) +
        " s (first change to last live name " +
        seconds_text(r["first_change_to_live_restored_seconds"]) + " s; backup verification " +
        seconds_text(r["backup_verify_seconds"]) + " s, before the first drop) |\n";
  md += fmt::format("| restore rate | {:.0f} records/s ({} records) |\n",
                    r["restore_records_per_second"].get<double>(),
                    r["restored_records"].get<std::uint64_t>());
  md +=
      "\n## Downtime per live name\n\n| live name | action | path | disrupted | restored | "
      "seconds | note |\n| --- | --- | --- | --- | --- | ---: | --- |\n";
  for (const auto& d : r["downtime"]) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", d["live_name"].get<std::string>(),
                      d["action"].get<std::string>(), d["path"].get<std::string>(),
                      d["disrupted_at"].get<std::string>(), d["restored_at"].get<std::string>(),
                      seconds_text(d["seconds"]), d["note"].get<std::string>());
  }
  md +=
      "\n## Actions\n\n| at | action | collection | detail | seconds |\n| --- | --- | --- | --- | "
      "---: |\n";
  for (const auto& a : r["actions"]) {
    md += fmt::format("| {} | {} | {} | {} | {:.3f} |\n", a["at"].get<std::string>(),
                      a["action"].get<std::string>(), a["collection"].get<std::string>(),
                      a["detail"].get<std::string>(), a["seconds"].get<double>());
  }
  const auto& archive = r["archive"];
  md += fmt::format("\n## Archive\n\n{} records in {} ({} collection(s)), verified at {}\n",
                    archive["records"].get<std::uint64_t>(),
                    archive["path"].get<std::string>().empty() ? std::string("(nothing archived)")
                                                               : archive["path"].get<std::string>(),
                    archive["collections"].size(), archive["verified_at"].get<std::string>());
  if (!archive["others_wrote"].empty()) {
    md += fmt::format(
        "\nWritten by others after the run (not as the run wrote them), dropped from the target "
        "and kept only in the archive `{}`:\n\n| archived collection | live name | records | ids "
        "|\n| --- | --- | ---: | --- |\n",
        archive["path"].get<std::string>());
    for (const auto& [name, o] : archive["others_wrote"].items()) {
      md += fmt::format(
          "| {} | {} | {} | {} |\n", name, o["live_name"].get<std::string>(),
          o["count"].get<std::uint64_t>(),
          o["note"].get<std::string>().empty() ? id_list_text(o) : o["note"].get<std::string>());
    }
  }
  if (!r["merged_in_place"].empty()) {
    md +=
        "\n## Merged collections restored in place\n\nThe collection (and its id) is kept: the "
        "records the run added are deleted, those it overwrote get their backed-up version back, "
        "records others wrote are kept.\n\n| collection | id | added, deleted | overwritten, put "
        "back | rewritten (stale keys) |\n| --- | --- | ---: | ---: | ---: |\n";
    for (const auto& mi : r["merged_in_place"]) {
      md += fmt::format(
          "| {} | {} | {} | {} | {} |\n", mi["name"].get<std::string>(),
          mi["collection_id"].get<std::string>(), mi["deleted_added"].get<std::uint64_t>(),
          mi["restored"].get<std::uint64_t>(), mi["rewritten_for_stale_keys"].get<std::uint64_t>());
    }
    md +=
        "\nKept (records of others):\n\n| collection | kind | records | ids |\n| --- | --- | ---: "
        "| --- |\n";
    for (const auto& mi : r["merged_in_place"]) {
      for (const auto& [key, label] :
           {std::pair{"kept_foreign", "written by others only (in neither backup nor run)"},
            std::pair{"kept_changed_after_run", "written by the run, rewritten by others since"},
            std::pair{"backup_records_changed_by_others",
                      "never written by the run, changed or deleted by others since the backup"}}) {
        const auto& l = mi[key];
        if (l["count"].get<std::uint64_t>() == 0) continue;
        md += fmt::format("| {} | {} | {} | {} |\n", mi["name"].get<std::string>(), label,
                          l["count"].get<std::uint64_t>(), id_list_text(l));
      }
    }
  }
  const auto& v = r["verification"];
  md += fmt::format(
      "\n## Verification: {}\n\n{} records compared with the backup, {} mismatches; source: {} "
      "({})\n\n| collection | expected | records | compared | mismatches | ok | problems |\n| --- "
      "| "
      "--- | ---: | ---: | ---: | --- | --- |\n",
      v["ok"].get<bool>() ? "passed" : "FAILED", v["records_compared"].get<std::uint64_t>(),
      v["record_mismatches"].get<std::uint64_t>(), v["source"]["status"].get<std::string>(),
      v["source"]["detail"].get<std::string>());
  for (const auto& c : v["collections"]) {
    std::string problems;
    for (const auto& p : c["problems"])
      problems += (problems.empty() ? "" : "; ") + p.get<std::string>();
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", c["name"].get<std::string>(),
                      c["expect"].get<std::string>(), c["actual_records"].get<std::uint64_t>(),
                      c["records_compared"].get<std::uint64_t>(),
                      c["mismatches"].get<std::uint64_t>(), c["ok"].get<bool>() ? "yes" : "**no**",
                      problems);
  }
  for (const auto& p : v["source"]["problems"]) md += "- source: " + p.get<std::string>() + "\n";
  return md;
}

std::string console_summary(const nlohmann::json& r, const WorkDir& work) {
  std::string paths;
  for (const auto& p : r["paths"]) paths += (paths.empty() ? "" : ", ") + p.get<std::string>();
  std::string out =
      fmt::format("rollback of run {}: {} (path(s): {})\n", r["run_id"].get<std::string>(),
                  r["status"].get<std::string>(), paths.empty() ? "none" : paths);
  out += "  trigger:            " + trigger_text(r["trigger"]) + "\n";
  std::string down;
  for (const auto& d : r["downtime"]) {
    down += fmt::format("{}{} {}s", down.empty() ? "" : ", ", d["live_name"].get<std::string>(),
                        seconds_text(d["seconds"]));
  }
  out += "  live names:         restored " + seconds_text(r["live_restored_seconds"]) +
         "s after the start, " + seconds_text(r["first_change_to_live_restored_seconds"]) +
         "s after the first change (downtime: " + (down.empty() ? "none" : down) + ")\n";
  out +=
      fmt::format("  archived:           {} collection(s), {} records -> {}\n",
                  r["archive"]["collections"].size(), r["archive"]["records"].get<std::uint64_t>(),
                  work.snapshot(WorkDir::kArchiveSnapshot).string());
  if (r["archive"]["others_wrote_records"].get<std::uint64_t>() > 0) {
    out += fmt::format(
        "  written by others:  {} record(s) written after the run into dropped collections, kept "
        "in the archive only (see the report)\n",
        r["archive"]["others_wrote_records"].get<std::uint64_t>());
  }
  for (const auto& mi : r["merged_in_place"]) {
    out += fmt::format(
        "  merged, in place:   {} (collection {} kept): {} added deleted, {} put back; kept {} "
        "of others\n",
        mi["name"].get<std::string>(), mi["collection_id"].get<std::string>(),
        mi["deleted_added"].get<std::uint64_t>(), mi["restored"].get<std::uint64_t>(),
        mi["kept_foreign"]["count"].get<std::uint64_t>() +
            mi["kept_changed_after_run"]["count"].get<std::uint64_t>() +
            mi["backup_records_changed_by_others"]["count"].get<std::uint64_t>());
  }
  out += fmt::format("  restored:           {} records from the backup ({:.0f} records/s)\n",
                     r["restored_records"].get<std::uint64_t>(),
                     r["restore_records_per_second"].get<double>());
  const auto& v = r["verification"];
  out += fmt::format(
      "  verified:           {} records compared, {} mismatches, {} check(s) {}; "
      "source {}\n",
      v["records_compared"].get<std::uint64_t>(), v["record_mismatches"].get<std::uint64_t>(),
      v["collections"].size(), v["ok"].get<bool>() ? "passed" : "with FAILURES",
      v["source"]["status"].get<std::string>());
  for (const auto& c : v["collections"]) {
    for (const auto& p : c["problems"]) {
      out += "    " + c["name"].get<std::string>() + ": " + p.get<std::string>() + "\n";
    }
  }
  out += "  total:              " + seconds_text(r["total_seconds"]) + "s\n";
  out += "  reports:            " + work.rollback_report().string() + ", " +
         work.rollback_report_md().string() + "\n";
  const auto html = report::html_path_for(work.rollback_report());
  out += "  html page:          " +
         (std::filesystem::exists(html) ? html.string() : "(not written: see the warning above)") +
         "\n";
  return out;
}

}  // namespace cm::rollback
