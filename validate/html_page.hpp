// validation_report.html: the validation report as a self-contained page (common/report/
// html_page.hpp), rendered from the same JSON as validation_report.json and .md. At the top the
// verdict and the rollback reasons; then the plots (recall@k distribution per source collection
// with the threshold marked, expected vs actual records per target collection, the embedding
// error distribution, seconds per test) and every test's status, findings, samples and figures.
// Plot ids: recall-<n> (n: the source collection's index, its name in the title), count-records,
// embedding-errors, test-seconds. A test that did not run (or a field an older report lacks)
// leaves its plot out; nothing here fails on a missing field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::validate {

// The view (texts and SVG) the template renders; exposed for tests.
// `json_file`: the JSON's file name, which the page names as its record.
nlohmann::json validation_page_view(const nlohmann::json& report, const std::string& json_file);
Result<std::string> render_validation_page(const nlohmann::json& report,
                                           const std::string& json_file);

}  // namespace cm::validate
