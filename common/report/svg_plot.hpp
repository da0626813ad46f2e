// The plots of the HTML report pages, as inline SVG text (no script, no font or file fetched: the
// pages must read offline and print). Every function returns one `<svg>` element carrying
// id="<id>" and class="plot <kind>", and every mark a data-label/data-value (data-x/data-y for a
// line) attribute holding the exact figure it draws, so tests and readers can check a plot
// against the JSON it came from. Labels are XML-escaped here: the pages insert this text as is.
// An empty data set gives a small plot saying so (the id is still there).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cm::report {

// Horizontal bars, one row per category, one bar per series in the row (e.g. expected vs actual).
struct BarRow {
  std::string label{};
  std::vector<double> values{};  // one per series
};
struct BarChart {
  // Every member has a default initializer ({}): designated initializers may leave any out
  // without -Wmissing-field-initializers.
  std::string id{}, title{}, unit{};  // unit: printed after each value ("s", "records")
  std::vector<std::string> series{};  // legend; one series needs no name
  std::vector<BarRow> rows{};
};
std::string horizontal_bars(const BarChart& chart);

// Vertical bars over ordered bins; `marker` is a vertical line (a threshold) at a position in
// bin units: 0 is the left edge of the first bin, bins.size() the right edge of the last.
struct HistogramBin {
  std::string label{};
  double count = 0;
};
struct Marker {
  double at = 0;
  std::string label{};
};
// `edges` (bins.size() + 1 texts, optional): ticks at the bins' boundaries instead of each bin's
// label under its middle (narrow plots: "0.9" and "1" rather than "0.9-1.0"). `width` in px.
struct Histogram {
  std::string id{}, title{}, x_label{};
  std::vector<HistogramBin> bins{};
  std::optional<Marker> marker{};
  std::vector<std::string> edges{};
  int width = 720;
};
std::string histogram(const Histogram& chart);

// A line through (x, y) points in x order, from (0, 0) axes.
struct Point {
  double x = 0, y = 0;
};
struct LineChart {
  std::string id{}, title{}, x_label{}, y_label{};
  std::vector<Point> points{};
};
std::string line_chart(const LineChart& chart);

// A Gantt-like timeline: one row per span, seconds from a common start. Spans of one `group` (e.g.
// the kind of action) share a colour, in the order groups first appear.
struct Span {
  std::string label{};
  double start = 0, seconds = 0;
  bool failed = false;
  std::string group{};
};
struct Timeline {
  std::string id{}, title{};
  std::vector<Span> spans{};
};
std::string timeline(const Timeline& chart);

// &, <, >, " and ' as entities (text and attribute values).
std::string xml_escape(const std::string& text);
// A figure as people read it (also the pages' tables): integers in full (12345), others with 3
// significant digits (0.923, 1.5e-07). Not for data-value attributes, which keep every digit.
std::string figure_text(double value);

}  // namespace cm::report
