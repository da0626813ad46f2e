// common/report/svg_plot: every plot carries its id, class and the exact figures it draws, escapes
// its labels, and references nothing outside the page.
#include <limits>

#include <gtest/gtest.h>

#include "common/report/svg_plot.hpp"
#include "tests/support/html_checks.hpp"

namespace cm::report {
namespace {

using cm::testing::data_points;
using cm::testing::data_values;
using cm::testing::external_references;
using cm::testing::occurrences;

TEST(SvgPlot, HorizontalBarsCarryEveryValuePerSeries) {
  const auto svg = horizontal_bars({.id = "counts",
                                    .title = "records",
                                    .unit = "",
                                    .series = {"expected", "actual"},
                                    .rows = {{"docs", {200, 188}}, {"notes", {50, 50.5}}}});
  EXPECT_TRUE(svg.starts_with("<svg id=\"counts\" class=\"plot bars\""));
  EXPECT_TRUE(svg.ends_with("</svg>"));
  EXPECT_EQ(data_values(svg, "docs"), (std::vector<double>{200, 188}));
  EXPECT_EQ(data_values(svg, "notes"), (std::vector<double>{50, 50.5}));
  EXPECT_EQ(occurrences(svg, "class=\"bar\""), 4u);
  EXPECT_NE(svg.find(">expected</text>"), std::string::npos);  // the legend
  EXPECT_TRUE(external_references(svg).empty());
  // No namespace URL either: inline SVG in HTML needs none, and a page must hold no address.
  EXPECT_EQ(svg.find("http"), std::string::npos);
}

TEST(SvgPlot, LabelsAreEscaped) {
  const auto svg = horizontal_bars(
      {.id = "x", .title = "<t>", .rows = {{"<script>alert(\"1\")</script>&", {1}}}});
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;&amp;"), std::string::npos);
  EXPECT_NE(svg.find("<title>&lt;t&gt;</title>"), std::string::npos);
}

TEST(SvgPlot, HistogramMarksTheThreshold) {
  Histogram h{.id = "recall", .title = "recall", .x_label = "recall@k"};
  for (int i = 0; i < 10; ++i) h.bins.push_back({std::to_string(i), i == 9 ? 7.0 : 0.0});
  h.marker = Marker{9.0, "threshold 0.9"};
  const auto svg = histogram(h);
  EXPECT_TRUE(svg.starts_with("<svg id=\"recall\" class=\"plot histogram\""));
  EXPECT_EQ(data_values(svg, "9"), (std::vector<double>{7}));
  EXPECT_EQ(data_values(svg, "0"), (std::vector<double>{0}));
  EXPECT_EQ(occurrences(svg, "class=\"marker\""), 1u);
  EXPECT_NE(svg.find("threshold 0.9"), std::string::npos);
  EXPECT_NE(svg.find("data-value=\"9\" x1="), std::string::npos);  // where the line is
}

TEST(SvgPlot, HistogramEdgeTicksReplaceBinLabels) {
  Histogram h{.id = "r",
              .bins = {{"0.0-0.5", 1}, {"0.5-1.0", 2}},
              .edges = {"0", "0.5", "1"},
              .width = 400};
  const auto svg = histogram(h);
  EXPECT_NE(svg.find("width=\"400\""), std::string::npos);
  EXPECT_EQ(occurrences(svg, "text-anchor=\"middle\">0.5</text>"), 1u);
  EXPECT_EQ(svg.find(">0.0-0.5</text>"), std::string::npos);  // no per-bin tick label
  EXPECT_EQ(data_values(svg, "0.5-1.0"), (std::vector<double>{2}));
}

TEST(SvgPlot, LineChartKeepsEveryPointInOrder) {
  const auto svg = line_chart({.id = "rate", .points = {{0, 0}, {0.5, 50}, {1.25, 120}}});
  EXPECT_TRUE(svg.starts_with("<svg id=\"rate\" class=\"plot line\""));
  const std::vector<std::pair<double, double>> want = {{0, 0}, {0.5, 50}, {1.25, 120}};
  EXPECT_EQ(data_points(svg), want);
  EXPECT_EQ(occurrences(svg, "<polyline"), 1u);
}

TEST(SvgPlot, TimelinePlacesSpansFromTheStart) {
  const auto svg = timeline({.id = "t",
                             .title = "actions",
                             .spans = {{"verify_backup docs", 0, 0.5}, {"drop notes", 1.0, 0}}});
  EXPECT_EQ(data_values(svg, "verify_backup docs"), (std::vector<double>{0.5}));
  EXPECT_EQ(data_values(svg, "drop notes"), (std::vector<double>{0}));
  EXPECT_NE(svg.find("data-start=\"1\""), std::string::npos);
  // An instant action is still drawn (2 px), not a zero-width rectangle.
  EXPECT_EQ(svg.find("width=\"0.0\""), std::string::npos);
}

TEST(SvgPlot, EmptyDataSaysSoAndKeepsTheId) {
  for (const auto& svg : {horizontal_bars({.id = "a"}), histogram({.id = "b"}),
                          line_chart({.id = "c"}), timeline({.id = "d"})}) {
    EXPECT_NE(svg.find("nothing to plot"), std::string::npos) << svg;
    EXPECT_NE(svg.find("empty"), std::string::npos) << svg;
  }
}

TEST(SvgPlot, NonFiniteValuesDoNotBreakTheScale) {
  const auto svg = horizontal_bars(
      {.id = "n", .rows = {{"a", {std::numeric_limits<double>::quiet_NaN()}}, {"b", {3}}}});
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(data_values(svg, "b"), (std::vector<double>{3}));
}

TEST(SvgPlot, FigureText) {
  EXPECT_EQ(figure_text(12345), "12345");
  EXPECT_EQ(figure_text(0.923456), "0.923");
  EXPECT_EQ(figure_text(1.5e-7), "1.5e-07");
  EXPECT_EQ(figure_text(123.456), "123.5");
}

}  // namespace
}  // namespace cm::report
