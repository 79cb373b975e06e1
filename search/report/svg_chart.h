#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frostnas {

/// A tiny writer of self-contained inline SVG charts (no scripts, no external
/// resources) for the HTML report: scatter / line plots, vertical bar charts,
/// horizontal stacked bars and heat maps, each with axes, ticks, labels and a legend.
/// Every text is XML-escaped; every data point carries a `<title>` (the browser's
/// native tooltip).

/// `&`, `<`, `>`, `"` and `'` as XML entities (safe in HTML and SVG text and attributes).
std::string escape_xml(std::string_view text);

/// `v` with `decimals` digits after the point ("-" for NaN or infinity); -0 prints as 0.
std::string format_number(double v, int decimals);

/// Round tick values ("1, 2, 5 times a power of ten" steps) covering [lo, hi]
/// with about `target` intervals; the first tick is <= lo and the last >= hi.
/// A degenerate range (lo == hi) is widened around the value.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// Digits after the point needed to print ticks `step` apart (0 for steps >= 1).
int tick_decimals(double step);

/// A categorical colour (a 10-colour palette, repeating).
std::string palette_color(size_t index);

/// An axis: its label and optional fixed bounds (otherwise from the data, padded).
struct ChartAxis {
  std::string label;
  std::optional<double> min;
  std::optional<double> max;
};

/// Marker shapes of a point series.
enum class Marker { kCircle, kSquare, kDiamond, kCross, kRing };

/// How a series is drawn: markers only, a polyline, or a staircase (horizontal,
/// then vertical) through its points in order.
enum class SeriesStyle { kPoints, kLine, kSteps };

/// One series of an XY chart. `labels` (optional, per point) are drawn next to the
/// points; `tooltips` (optional, per point) become `<title>` elements.
struct ChartSeries {
  std::string name;       ///< legend entry; empty: not in the legend
  bool in_legend = true;  ///< false: a named series (data-series) without a legend entry
  std::string color = "#1f77b4";
  SeriesStyle style = SeriesStyle::kPoints;
  Marker marker = Marker::kCircle;
  double marker_size = 4.5;
  bool dashed = false;
  std::vector<double> xs;
  std::vector<double> ys;
  std::vector<std::string> labels;
  std::vector<std::string> tooltips;
};

/// A scatter / line chart on linear axes.
struct XYChart {
  std::string title;
  ChartAxis x;
  ChartAxis y;
  std::vector<ChartSeries> series;
  int width = 960;
  int height = 460;
  bool integer_x = false;  ///< ticks at whole numbers only (e.g. candidate indices)
  /// Categories of a categorical x axis: category i sits at x = i, ticks are labelled with
  /// the names, and the axis spans [-0.5, n - 0.5] (x.min and x.max are ignored).
  std::vector<std::string> x_categories;
};

/// `<svg>...</svg>` for the chart. Points outside fixed axis bounds are clipped.
std::string render_xy_chart(const XYChart& chart);

/// One bar of a bar chart.
struct Bar {
  std::string label;  ///< category label under the bar
  double value = 0.0;
  std::string color = "#1f77b4";
  std::string tooltip;  ///< `<title>`; the label and value when empty
};

/// A vertical bar chart with a zero line (negative values hang below it).
struct BarChart {
  std::string title;
  ChartAxis y;
  std::vector<Bar> bars;
  std::vector<std::pair<std::string, std::string>> legend;  ///< (name, colour)
  int value_decimals = 2;
  int width = 960;
  int height = 380;
};

std::string render_bar_chart(const BarChart& chart);

/// One segment of a stacked bar: a named part of the whole.
struct StackSegment {
  std::string name;
  double value = 0.0;  ///< a fraction of the row's total
  std::string color;
};

/// Horizontal bars, one per row, each stacked from segments that fill [0, 1] of
/// the width (values are divided by the row total).
struct StackedBarChart {
  std::string title;
  std::vector<std::string> rows;
  std::vector<std::vector<StackSegment>> segments;  ///< segments[row]
  std::vector<std::pair<std::string, std::string>> legend;
  int width = 960;
};

std::string render_stacked_bars(const StackedBarChart& chart);

/// A grid of coloured cells (white -> dark blue over [vmin, vmax]); NaN cells are
/// left grey. values[row][column].
struct HeatMap {
  std::string title;
  std::string x_label;
  std::vector<std::string> row_labels;
  std::vector<std::string> col_labels;
  std::vector<std::vector<double>> values;
  double vmin = 0.0;
  double vmax = 1.0;
  bool show_values = false;  ///< print the value inside each cell
  int width = 960;
};

std::string render_heat_map(const HeatMap& map);

}  // namespace frostnas
