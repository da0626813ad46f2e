// validation_report.json and validation_report.md. The JSON is the record (docs:
// validate/README.md); the Markdown and the console summary are rendered from that same JSON, so
// the three never disagree. Both files are written atomically.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "validate/check.hpp"
#include "validate/verdict.hpp"

namespace cm::validate {

struct ReportHeader {
  std::string run_id, source, target, work_dir, started_at, tool_version;
  double elapsed_seconds = 0;
  nlohmann::json extra = nlohmann::json::object();  // merged in as is (thresholds, record pass)
};

nlohmann::json check_result_to_json(const CheckResult& result);
nlohmann::json report_to_json(const ReportHeader& header, const Verdict& verdict,
                              const std::vector<CheckResult>& results);
std::string render_markdown(const nlohmann::json& report);
// The block printed at the end of a run; `json_path` is where the report was written.
std::string render_console_summary(const nlohmann::json& report,
                                   const std::filesystem::path& json_path);

// `json_path` ends in .json; the Markdown goes beside it with the extension .md.
std::filesystem::path markdown_path_for(const std::filesystem::path& json_path);
Status write_reports(const nlohmann::json& report, const std::filesystem::path& json_path);

}  // namespace cm::validate
