#include "rollback/trigger.hpp"

#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/run/work_dir.hpp"

namespace cm::rollback {

Result<Trigger> read_trigger(const RollbackOptions& o, const RunManifest& m) {
  Trigger t;
  t.report = o.report.empty() ? WorkDir(o.work_dir).validation_report() : o.report;
  t.forced = o.force;
  t.reason = o.reason;
  const std::string how_to_force = "; to roll back anyway: chroma-rollback --work-dir " +
                                   o.work_dir.string() + " --force --reason \"why\"";
  auto text = read_file(t.report);
  if (!text) {
    if (o.force) {
      spdlog::warn("no validation report at {}; rolling back as forced", t.report.string());
      return t;
    }
    return make_error(ErrorCode::kConfigMismatch,
                      "no validation report at " + t.report.string() +
                          ": run chroma-validate --work-dir " + o.work_dir.string() +
                          " first (or name the report with --report)" + how_to_force);
  }
  auto report = nlohmann::json::parse(*text, nullptr, false);
  const bool is_report = report.is_object() && report.contains("overall_status") &&
                         report["overall_status"].is_string() && report.contains("run_id") &&
                         report["run_id"].is_string();
  if (!is_report) {
    if (o.force) {
      spdlog::warn("{} is not a validation report; rolling back as forced", t.report.string());
      return t;
    }
    return make_error(ErrorCode::kConfigMismatch,
                      t.report.string() +
                          " is not a chroma-validate report (no overall_status/run_id): run "
                          "chroma-validate again" +
                          how_to_force);
  }
  if (report["run_id"].get<std::string>() != m.run_id) {
    return make_error(ErrorCode::kConfigMismatch,
                      t.report.string() + " validates run " + report["run_id"].get<std::string>() +
                          ", but " + o.work_dir.string() + " holds run " + m.run_id +
                          ": pass the report of this run with --report (nothing was changed)");
  }
  t.report_read = true;
  t.overall_status = report["overall_status"].get<std::string>();
  auto flag = report.value("rollback_triggered", nlohmann::json(false));
  t.rollback_triggered = flag.is_boolean() && flag.get<bool>();
  auto reason = report.value("rollback_reason", nlohmann::json(""));
  if (reason.is_string()) t.rollback_reason = reason.get<std::string>();
  for (const auto& r : report.value("rollback_reasons", nlohmann::json::array())) {
    if (r.is_string()) t.rollback_reasons.push_back(r.get<std::string>());
  }
  return t;
}

nlohmann::json trigger_to_json(const Trigger& t) {
  return {{"report", t.report.string()},
          {"report_read", t.report_read},
          {"overall_status", t.overall_status},
          {"rollback_triggered", t.rollback_triggered},
          {"rollback_reason", t.rollback_reason},
          {"rollback_reasons", t.rollback_reasons},
          {"forced", t.forced},
          {"reason", t.reason}};
}

std::string describe_trigger(const Trigger& t) {
  std::string reasons;
  for (const auto& r : t.rollback_reasons) reasons += (reasons.empty() ? "" : "; ") + r;
  std::string report = t.report_read ? "validation " + t.overall_status +
                                           (reasons.empty() ? "" : " (" + reasons + ")") + " in " +
                                           t.report.string()
                                     : "no readable validation report at " + t.report.string();
  return t.forced ? "forced: " + t.reason + " (" + report + ")" : report;
}

}  // namespace cm::rollback
