#include "common/report/svg_plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace cm::report {
namespace {

constexpr int kWidth = 720;
constexpr int kLabelWidth = 190;  // the category labels of horizontal bars and timelines
constexpr int kPlotWidth = 430;   // what is left for the bars, with room for the value text
constexpr std::size_t kMaxLabel = 30;
// Colour-blind-safe pair (blue, orange); a failed span is red.
constexpr const char* kSeriesColours[] = {"#3b6fb6", "#e08a2c", "#5b9e5b", "#8c6bb1"};
constexpr const char* kFailedColour = "#c0392b";
// A timeline's groups (Okabe-Ito, yellow left out: too pale on white).
constexpr const char* kGroupColours[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7",
                                         "#56b4e9", "#d55e00", "#555555"};

// Every digit, for data-value (fmt's shortest round-trip form).
std::string exact(double v) {
  return fmt::format("{}", v);
}

std::string short_label(const std::string& label) {
  if (label.size() <= kMaxLabel) return label;
  return label.substr(0, kMaxLabel - 1) + "\u2026";
}

std::string open_svg(const std::string& id, const std::string& kind, const std::string& title,
                     int height, int width = kWidth) {
  return fmt::format(
      "<svg id=\"{0}\" class=\"plot {1}\" role=\"img\" width=\"{2}\" height=\"{3}\" "
      "viewBox=\"0 0 {2} {3}\" aria-label=\"{4}\"><title>{4}</title>"
      "<text class=\"plot-title\" x=\"0\" y=\"16\">{4}</text>",
      xml_escape(id), kind, width, height, xml_escape(title));
}

std::string empty_plot(const std::string& id, const std::string& kind, const std::string& title) {
  return open_svg(id, kind + " empty", title, 48) +
         "<text class=\"note\" x=\"0\" y=\"38\">nothing to plot</text></svg>";
}

double max_or_one(double m) {
  return m > 0 && std::isfinite(m) ? m : 1.0;
}

double finite(double v) {
  return std::isfinite(v) ? v : 0.0;
}

std::string legend(const std::vector<std::string>& series, int y) {
  if (series.size() < 2) return "";
  std::string out;
  int x = kLabelWidth;
  for (std::size_t s = 0; s < series.size(); ++s) {
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text class=\"legend\" x=\"{}\" y=\"{}\">{}</text>",
        x, y - 9, kSeriesColours[s % 4], x + 14, y, xml_escape(series[s]));
    x += 24 + static_cast<int>(series[s].size()) * 7;
  }
  return out;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string figure_text(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "n/a" : (value > 0 ? "inf" : "-inf");
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  if (std::fabs(value) >= 100) return fmt::format("{:.1f}", value);
  return fmt::format("{:.3g}", value);
}

std::string horizontal_bars(const BarChart& c) {
  if (c.rows.empty()) return empty_plot(c.id, "bars", c.title);
  const std::size_t series = std::max<std::size_t>(1, c.series.size());
  constexpr int kBar = 14, kGap = 8;
  const int row_height = static_cast<int>(series) * kBar + kGap;
  const int top = series > 1 ? 44 : 28;
  const int height = top + static_cast<int>(c.rows.size()) * row_height + 20;
  double max = 0;
  for (const auto& r : c.rows)
    for (const double v : r.values) max = std::max(max, finite(v));
  max = max_or_one(max);
  std::string out = open_svg(c.id, "bars", c.title, height) + legend(c.series, 36);
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const auto& r = c.rows[i];
    const int y = top + static_cast<int>(i) * row_height;
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                       kLabelWidth - 6, y + kBar * static_cast<int>(series) / 2 + 4,
                       xml_escape(short_label(r.label)));
    for (std::size_t s = 0; s < r.values.size() && s < series; ++s) {
      const double v = finite(r.values[s]);
      const double w = v / max * kPlotWidth;
      const int by = y + static_cast<int>(s) * kBar;
      out += fmt::format(
          "<rect class=\"bar\" data-label=\"{0}\" data-series=\"{1}\" data-value=\"{2}\" "
          "x=\"{3}\" y=\"{4}\" width=\"{5:.1f}\" height=\"{6}\" fill=\"{7}\">"
          "<title>{0}: {8} {9}</title></rect>"
          "<text class=\"value\" x=\"{10:.1f}\" y=\"{11}\">{8} {9}</text>",
          xml_escape(r.label), s < c.series.size() ? xml_escape(c.series[s]) : "", exact(v),
          kLabelWidth, by, std::max(w, v > 0 ? 1.0 : 0.0), kBar - 2, kSeriesColours[s % 4],
          figure_text(v), xml_escape(c.unit), kLabelWidth + w + 4, by + kBar - 4);
    }
  }
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>",
                     kLabelWidth, top - 4, height - 18);
  return out + "</svg>";
}

std::string histogram(const Histogram& c) {
  if (c.bins.empty()) return empty_plot(c.id, "histogram", c.title);
  // kTop leaves room above the tallest bar for its value and for the marker's label.
  constexpr int kLeft = 60, kTop = 46, kPlotHeight = 140;
  const int kPlotW = std::max(200, c.width) - kLeft - 40;
  const int height = kTop + kPlotHeight + 50;
  const bool edge_ticks = c.edges.size() == c.bins.size() + 1;
  const double bin_width = static_cast<double>(kPlotW) / static_cast<double>(c.bins.size());
  double max = 0;
  for (const auto& b : c.bins) max = std::max(max, finite(b.count));
  max = max_or_one(max);
  std::string out = open_svg(c.id, "histogram", c.title, height, std::max(200, c.width));
  const int base = kTop + kPlotHeight;
  // y axis: 0 and the largest count.
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>"
      "<text class=\"tick\" x=\"{4}\" y=\"{2}\" text-anchor=\"end\">0</text>"
      "<text class=\"tick\" x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>",
      kLeft, kTop, base, kLeft + kPlotW, kLeft - 4, kTop + 8, figure_text(max));
  for (std::size_t i = 0; i < c.bins.size(); ++i) {
    const auto& b = c.bins[i];
    const double v = finite(b.count);
    const double h = v / max * kPlotHeight;
    const double x = kLeft + static_cast<double>(i) * bin_width;
    out += fmt::format(
        "<rect class=\"bar\" data-label=\"{0}\" data-value=\"{1}\" x=\"{2:.1f}\" y=\"{3:.1f}\" "
        "width=\"{4:.1f}\" height=\"{5:.1f}\" fill=\"{6}\"><title>{0}: {7}</title></rect>",
        xml_escape(b.label), exact(v), x + 1, base - h, bin_width - 2, h, kSeriesColours[0],
        figure_text(v));
    if (v > 0) {
      out += fmt::format(
          "<text class=\"value\" x=\"{:.1f}\" y=\"{:.1f}\" "
          "text-anchor=\"middle\">{}</text>",
          x + bin_width / 2, base - h - 3, figure_text(v));
    }
    if (!edge_ticks) {
      out +=
          fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                      x + bin_width / 2, base + 14, xml_escape(b.label));
    }
  }
  for (std::size_t i = 0; edge_ticks && i < c.edges.size(); ++i) {
    const double x = kLeft + static_cast<double>(i) * bin_width;
    out += fmt::format(
        "<line class=\"axis\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\"/>"
        "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        x, base, base + 4, base + 15, xml_escape(c.edges[i]));
  }
  out +=
      fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                  kLeft + kPlotW / 2, base + 34, xml_escape(c.x_label));
  if (c.marker) {
    const double x =
        kLeft + std::clamp(c.marker->at, 0.0, static_cast<double>(c.bins.size())) * bin_width;
    out += fmt::format(
        "<line class=\"marker\" data-value=\"{0}\" x1=\"{1:.1f}\" y1=\"{2}\" x2=\"{1:.1f}\" "
        "y2=\"{3}\"/><text class=\"marker-label\" x=\"{4:.1f}\" y=\"{5}\" "
        "text-anchor=\"end\">{6}</text>",
        exact(c.marker->at), x, kTop - 16, base, x - 4, kTop - 14, xml_escape(c.marker->label));
  }
  return out + "</svg>";
}

std::string line_chart(const LineChart& c) {
  if (c.points.empty()) return empty_plot(c.id, "line", c.title);
  constexpr int kLeft = 80, kTop = 34, kPlotHeight = 160, kPlotW = 600;
  const int height = kTop + kPlotHeight + 50;
  double max_x = 0, max_y = 0;
  for (const auto& p : c.points) {
    max_x = std::max(max_x, finite(p.x));
    max_y = std::max(max_y, finite(p.y));
  }
  max_x = max_or_one(max_x);
  max_y = max_or_one(max_y);
  const int base = kTop + kPlotHeight;
  std::string out = open_svg(c.id, "line", c.title, height);
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>"
      "<text class=\"tick\" x=\"{4}\" y=\"{2}\" text-anchor=\"end\">0</text>"
      "<text class=\"tick\" x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>"
      "<text class=\"tick\" x=\"{3}\" y=\"{7}\" text-anchor=\"middle\">{8}</text>"
      "<text class=\"tick\" x=\"{0}\" y=\"{7}\" text-anchor=\"middle\">0</text>"
      "<text class=\"tick\" x=\"{14}\" y=\"{7}\" text-anchor=\"middle\">{15}</text>"
      "<text class=\"tick\" x=\"{4}\" y=\"{16}\" text-anchor=\"end\">{17}</text>"
      "<text class=\"axis-label\" x=\"{9}\" y=\"{10}\" text-anchor=\"middle\">{11}</text>"
      "<text class=\"axis-label\" x=\"{0}\" y=\"{12}\">{13}</text>",
      kLeft, kTop, base, kLeft + kPlotW, kLeft - 4, kTop + 8, figure_text(max_y), base + 14,
      figure_text(max_x), kLeft + kPlotW / 2, base + 34, xml_escape(c.x_label), kTop - 4,
      xml_escape(c.y_label), kLeft + kPlotW / 2, figure_text(max_x / 2), base - kPlotHeight / 2 + 4,
      figure_text(max_y / 2));
  std::string points, marks;
  for (const auto& p : c.points) {
    const double x = kLeft + finite(p.x) / max_x * kPlotW;
    const double y = base - finite(p.y) / max_y * kPlotHeight;
    points += fmt::format("{:.1f},{:.1f} ", x, y);
    marks += fmt::format(
        "<circle class=\"point\" data-x=\"{}\" data-y=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" "
        "fill=\"{}\"><title>{} s: {}</title></circle>",
        exact(p.x), exact(p.y), x, y, kSeriesColours[0], figure_text(p.x), figure_text(p.y));
  }
  out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
                     kSeriesColours[0], points);
  return out + marks + "</svg>";
}

std::string timeline(const Timeline& c) {
  if (c.spans.empty()) return empty_plot(c.id, "timeline", c.title);
  constexpr int kRow = 18, kTop = 30;
  const int height = kTop + static_cast<int>(c.spans.size()) * kRow + 30;
  double end = 0;
  for (const auto& s : c.spans) end = std::max(end, finite(s.start) + finite(s.seconds));
  end = max_or_one(end);
  const int base = kTop + static_cast<int>(c.spans.size()) * kRow;
  std::string out = open_svg(c.id, "timeline", c.title, height);
  std::vector<std::string> groups;  // in order of first appearance: a group's colour
  for (std::size_t i = 0; i < c.spans.size(); ++i) {
    const auto& s = c.spans[i];
    auto g = std::find(groups.begin(), groups.end(), s.group);
    if (g == groups.end()) g = groups.insert(groups.end(), s.group);
    const auto colour = kGroupColours[static_cast<std::size_t>(g - groups.begin()) % 7];
    const int y = kTop + static_cast<int>(i) * kRow;
    const double x = kLabelWidth + finite(s.start) / end * kPlotWidth;
    // At least 2 px: an instant action (a rename) must still show where it happened.
    const double w = std::max(2.0, finite(s.seconds) / end * kPlotWidth);
    out += fmt::format(
        "<text class=\"label\" x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>"
        "<rect class=\"span\" data-label=\"{3}\" data-start=\"{4}\" data-value=\"{5}\" "
        "x=\"{6:.1f}\" y=\"{7}\" width=\"{8:.1f}\" height=\"{9}\" fill=\"{10}\">"
        "<title>{3}: {11} s at +{12} s</title></rect>"
        "<text class=\"value\" x=\"{13:.1f}\" y=\"{1}\">{11} s</text>",
        kLabelWidth - 6, y + 12, xml_escape(short_label(s.label)), xml_escape(s.label),
        exact(s.start), exact(s.seconds), x, y + 2, w, kRow - 4, s.failed ? kFailedColour : colour,
        figure_text(s.seconds), figure_text(s.start), x + w + 4);
  }
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
      "<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">0 s</text>"
      "<text class=\"tick\" x=\"{2}\" y=\"{3}\" text-anchor=\"middle\">{4} s</text>",
      kLabelWidth, base + 2, kLabelWidth + kPlotWidth, base + 16, figure_text(end));
  return out + "</svg>";
}

}  // namespace cm::report
