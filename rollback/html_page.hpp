// rollback_report.html: the rollback report as a self-contained page (common/report/
// html_page.hpp), rendered from the same JSON as rollback_report.json and .md: the status and the
// trigger at the top, a timeline of the journal's actions (plot id "actions-timeline"), the
// downtime per live name (plot id "downtime", and a table), restores, archive and the final
// verification table (id "verification").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::rollback {

// The view the template renders; exposed for tests.
nlohmann::json rollback_page_view(const nlohmann::json& report);
Result<std::string> render_rollback_page(const nlohmann::json& report);

}  // namespace cm::rollback
