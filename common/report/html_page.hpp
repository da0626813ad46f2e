// The HTML report pages (validation_report.html, rollback_report.html, migration_summary.html,
// ...): one self-contained page beside each JSON report, rendered from that same JSON so the two
// never disagree. Each binary turns its report JSON into a *view* (also JSON: preformatted texts
// and the SVG of common/report/svg_plot.hpp) and renders it with a Mustache template (mstch)
// embedded at build time (cmake/embed_text.cmake). This file holds what every page shares: the
// JSON -> mstch conversion, the shared partials, and the writing of the page.
//
// Partials every page template may use: {{> style}} (the inline CSS, print-friendly) inside
// <head>, and {{> footer}}. Views: {{x}} is HTML-escaped by mstch; only SVG made by svg_plot (which
// escapes its own labels) goes in unescaped, as {{{x}}}.
//
// A page is a convenience, the JSON is the record: failing to render or write a page never changes
// a verdict or an exit code. write_page_beside() logs a warning naming the page and removes a
// stale page left by an earlier run (a page disagreeing with the JSON beside it would be worse
// than none).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <mstch/mstch.hpp>
#include <nlohmann/json.hpp>

#include "common/base/error.hpp"

namespace cm::report {

// Objects -> mstch maps, arrays -> arrays, strings and booleans as they are, null -> null (false
// in a section), numbers -> their text (integers in full, others as fmt's shortest form):
// templates show numbers the views did not format themselves exactly as the JSON holds them.
mstch::node to_mstch(const nlohmann::json& value);

// Renders `page_template` with `view` and the shared partials. kInternal when mstch throws (a
// malformed template).
Result<std::string> render_page(std::string_view page_template, const nlohmann::json& view);
// The same with the view built by `make_view` (a page's view code, reading a report JSON of any
// age): anything it throws (a field of an unexpected type) is a kInternal error too, never an
// exception out of the binary's report writing.
Result<std::string> build_and_render(std::string_view page_template,
                                     const std::function<nlohmann::json()>& make_view);

// View helpers: j[key] when j is an object holding an object (an array) there, else an empty one.
// References, never copies: chains such as object_at(object_at(r, "a"), "b").items() in a
// range-for stay valid (a chain of json::value() temporaries would dangle).
const nlohmann::json& object_at(const nlohmann::json& j, const char* key);
const nlohmann::json& array_at(const nlohmann::json& j, const char* key);

// report.json -> report.html, beside it.
std::filesystem::path html_path_for(const std::filesystem::path& json_path);

// Writes `page` atomically to html_path_for(json_path) and returns that path. When `page` is an
// error or the write fails: logs a warning naming the page and the reason, removes any page an
// earlier run left there, and returns nullopt. Never throws.
std::optional<std::filesystem::path> write_page_beside(const std::filesystem::path& json_path,
                                                       const Result<std::string>& page);

// A report field as page text: "" when it is missing or null, a string as it is, anything else
// as its JSON. Never throws (the pages are rendered from whatever JSON the binary wrote).
std::string field_text(const nlohmann::json& j, const char* key);
// A report field as a number: 0 when it is missing or not a number.
double field_number(const nlohmann::json& j, const char* key);

}  // namespace cm::report
