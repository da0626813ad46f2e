// Checks of the HTML report pages shared by the unit and integration tests: a page must be
// self-contained (nothing fetched from anywhere, no script) and its plots must carry the JSON's
// figures in data attributes (common/report/svg_plot.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cm::testing {

// Every reason the page is not self-contained: a script, a stylesheet link, an embedded object or
// image, a src= attribute, an href= that is not a fragment (#...), an @import or url() in CSS, an
// xlink:href. Empty when the page is self-contained. Text content may mention URLs (a server
// address is a figure); only what a browser would fetch or run counts.
std::vector<std::string> external_references(const std::string& html);

// The opening tag of the element with id="<id>", or nullopt.
std::optional<std::string> element_with_id(const std::string& html, const std::string& id);
// The whole <svg ...>...</svg> with id="<id>", or nullopt.
std::optional<std::string> svg_with_id(const std::string& html, const std::string& id);

// The data-value of every mark (element with class "bar"/"span"/...) in `svg` whose data-label is
// `label` (in order: one per series), as numbers.
std::vector<double> data_values(const std::string& svg, const std::string& label);
// (data-x, data-y) of every point of a line plot.
std::vector<std::pair<double, double>> data_points(const std::string& svg);

// How many times `needle` occurs in `haystack`.
std::size_t occurrences(const std::string& haystack, const std::string& needle);

}  // namespace cm::testing
