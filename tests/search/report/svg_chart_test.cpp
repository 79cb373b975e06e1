#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "search/report/svg_chart.h"

using namespace frostnas;

namespace {

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

}  // namespace

TEST(SvgChart, EscapesAllMarkupCharacters) {
  EXPECT_EQ(escape_xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(escape_xml("plain"), "plain");
}

TEST(SvgChart, FormatsNumbers) {
  EXPECT_EQ(format_number(1.23456, 2), "1.23");
  EXPECT_EQ(format_number(-0.001, 2), "0.00");
  EXPECT_EQ(format_number(-1.5, 1), "-1.5");
  EXPECT_EQ(format_number(std::nan(""), 2), "-");
  EXPECT_EQ(tick_decimals(0.05), 2);
  EXPECT_EQ(tick_decimals(0.5), 1);
  EXPECT_EQ(tick_decimals(2.0), 0);
}

TEST(SvgChart, NiceTicksCoverTheRangeWithRoundSteps) {
  const auto t = nice_ticks(0.47, 0.93, 5);
  ASSERT_GE(t.size(), 2u);
  EXPECT_LE(t.front(), 0.47);
  EXPECT_GE(t.back(), 0.93);
  EXPECT_DOUBLE_EQ(t[1] - t[0], 0.1);
  EXPECT_DOUBLE_EQ(t.front(), 0.4);
  EXPECT_DOUBLE_EQ(t.back(), 1.0);
  const auto z = nice_ticks(3.0, 3.0);  // degenerate: widened around the value
  EXPECT_LT(z.front(), 3.0);
  EXPECT_GT(z.back(), 3.0);
  const auto big = nice_ticks(0, 97, 5);
  EXPECT_DOUBLE_EQ(big[1] - big[0], 20.0);
  EXPECT_DOUBLE_EQ(big.back(), 100.0);
}

TEST(SvgChart, XYChartDrawsPointsLabelsTooltipsAndLegend) {
  XYChart c;
  c.title = "A <title>";
  c.x.label = "latency & ms";
  c.y.label = "acc";
  ChartSeries s;
  s.name = "pts \"1\"";
  s.xs = {1.0, 2.0, 3.0};
  s.ys = {10.0, 20.0, 15.0};
  s.labels = {"#1", "", "#3"};
  s.tooltips = {"tip <1>", "tip 2", "tip 3"};
  ChartSeries line;
  line.name = "front";
  line.style = SeriesStyle::kSteps;
  line.xs = {1.0, 2.0};
  line.ys = {10.0, 20.0};
  c.series = {line, s};
  const std::string svg = render_xy_chart(c);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 3u + 1u);  // three points and the legend's marker
  EXPECT_NE(svg.find("<title>tip &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(svg.find(">#1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">#3</text>"), std::string::npos);
  EXPECT_NE(svg.find("A &lt;title&gt;"), std::string::npos);
  EXPECT_NE(svg.find("latency &amp; ms"), std::string::npos);
  EXPECT_NE(svg.find("pts &quot;1&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<title>"), svg.find("<title>A &lt;title&gt;</title>"));
  // A staircase: move, horizontal, vertical.
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
  EXPECT_NE(svg.find("H"), std::string::npos);
  EXPECT_EQ(svg.find("<A"), std::string::npos);
}

TEST(SvgChart, XYChartSkipsPointsOutsideFixedBounds) {
  XYChart c;
  c.x.min = 0;
  c.x.max = 10;
  c.y.min = 0;
  c.y.max = 10;
  ChartSeries s;
  s.xs = {5, 50, std::numeric_limits<double>::quiet_NaN()};
  s.ys = {5, 5, 5};
  c.series = {s};
  EXPECT_EQ(count(render_xy_chart(c), "<circle"), 1u);
}

TEST(SvgChart, BarChartHandlesNegativeValues) {
  BarChart c;
  c.title = "drop";
  c.bars = {{"a", 1.5, "#111111", ""}, {"b <x>", -0.5, "#222222", ""}};
  c.legend = {{"models", "#111111"}};
  const std::string svg = render_bar_chart(c);
  EXPECT_EQ(count(svg, "fill=\"#111111\">"), 1u);
  EXPECT_EQ(count(svg, "fill=\"#222222\">"), 1u);
  EXPECT_NE(svg.find("<title>b &lt;x&gt;: -0.50</title>"), std::string::npos);
  EXPECT_NE(svg.find(">1.50</text>"), std::string::npos);
  EXPECT_NE(svg.find(">models</text>"), std::string::npos);
}

TEST(SvgChart, StackedBarsNormaliseRows) {
  StackedBarChart c;
  c.title = "w";
  c.rows = {"e0"};
  c.segments = {{{"skip", 1.0, "#aaaaaa"}, {"conv", 3.0, "#bbbbbb"}}};
  const std::string svg = render_stacked_bars(c);
  EXPECT_NE(svg.find("<title>e0: skip 0.250</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>e0: conv 0.750</title>"), std::string::npos);
}

TEST(SvgChart, HeatMapMarksMissingCells) {
  HeatMap m;
  m.title = "h";
  m.row_labels = {"r0", "r1"};
  m.col_labels = {"0", "1"};
  m.values = {{0.0, 1.0}, {0.5, std::numeric_limits<double>::quiet_NaN()}};
  const std::string svg = render_heat_map(m);
  EXPECT_NE(svg.find("<title>r1, 1: n/a</title>"), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#dddddd\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#f7fbff\""), std::string::npos);  // vmin
  EXPECT_NE(svg.find("fill=\"#08306b\""), std::string::npos);  // vmax
}
