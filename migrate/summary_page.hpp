// chroma-migrate's HTML pages (common/report/html_page.hpp), each rendered from the JSON it sits
// beside:
//   migration_summary.html  from migration_summary.json: the figures, seconds per phase (plot id
//                           "phase-seconds"), the import rate over time ("import-rate": records
//                           imported against seconds since the import started), records per
//                           target collection with their routes ("collection-records"), retries,
//                           and the run's syncs with their deltas ("sync-deltas") when it had any;
//   plan.html               from the dry run's plan.json: records per target collection
//                           ("plan-records") with their routes, the export's figures, the
//                           schema change, samples and the source's health;
//   persist_inspect.html    from --inspect's JSON: every collection's health ("inspect-records":
//                           records, recoverable and lost per collection) and the damage found.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::migrate {

// The views the templates render; exposed for tests.
nlohmann::json summary_page_view(const nlohmann::json& summary);
Result<std::string> render_summary_page(const nlohmann::json& summary);

nlohmann::json plan_page_view(const nlohmann::json& plan);
Result<std::string> render_plan_page(const nlohmann::json& plan);

nlohmann::json inspect_page_view(const nlohmann::json& inspection, const std::string& json_file);
Result<std::string> render_inspect_page(const nlohmann::json& inspection,
                                        const std::string& json_file);

}  // namespace cm::migrate
