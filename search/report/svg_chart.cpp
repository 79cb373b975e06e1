#include "search/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace frostnas {

namespace {

constexpr const char* kFont = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
constexpr double kCharWidth = 6.6;  // average glyph width of 11-12 px text, for layout

std::string num(double v) { return format_number(v, 1); }

double text_width(const std::string& s, double font_px = 12.0) {
  return static_cast<double>(s.size()) * kCharWidth * font_px / 12.0;
}

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (attrs.empty() ? "" : " " + attrs) +
         ">" + escape_xml(s) + "</text>\n";
}

std::string title_element(const std::string& tooltip) {
  return tooltip.empty() ? "" : "<title>" + escape_xml(tooltip) + "</title>";
}

std::string svg_open(int width, int height, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
         std::to_string(width) + " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" +
         escape_xml(title) + "\" " + kFont + " font-size=\"12\">\n<title>" + escape_xml(title) +
         "</title>\n<rect width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" fill=\"#ffffff\"/>\n" +
         text(12, 22, title, "font-size=\"15\" font-weight=\"bold\" fill=\"#222\"");
}

/// One marker centred on (x, y).
std::string marker(Marker shape, double x, double y, double r, const std::string& color,
                   const std::string& tooltip) {
  const std::string tip = title_element(tooltip);
  switch (shape) {
    case Marker::kSquare:
      return "<rect x=\"" + num(x - r) + "\" y=\"" + num(y - r) + "\" width=\"" + num(2 * r) +
             "\" height=\"" + num(2 * r) + "\" fill=\"" + color +
             "\" stroke=\"#ffffff\" stroke-width=\"0.8\">" + tip + "</rect>\n";
    case Marker::kDiamond: {
      const double d = r * 1.3;
      return "<polygon points=\"" + num(x) + "," + num(y - d) + " " + num(x + d) + "," + num(y) +
             " " + num(x) + "," + num(y + d) + " " + num(x - d) + "," + num(y) + "\" fill=\"" +
             color + "\" stroke=\"#ffffff\" stroke-width=\"0.8\">" + tip + "</polygon>\n";
    }
    case Marker::kCross:
      return "<path d=\"M" + num(x - r) + "," + num(y - r) + "L" + num(x + r) + "," + num(y + r) +
             "M" + num(x - r) + "," + num(y + r) + "L" + num(x + r) + "," + num(y - r) +
             "\" stroke=\"" + color + "\" stroke-width=\"2\" fill=\"none\">" + tip + "</path>\n";
    case Marker::kRing:
      return "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) +
             "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\">" + tip + "</circle>\n";
    case Marker::kCircle:
    default:
      return "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" fill=\"" +
             color + "\" fill-opacity=\"0.85\" stroke=\"#ffffff\" stroke-width=\"0.8\">" + tip +
             "</circle>\n";
  }
}

/// A legend row (wrapping to further rows) starting at (x0, y0); returns its height.
struct LegendItem {
  std::string name;
  std::string color;
  bool line = false;
  bool dashed = false;
  Marker marker = Marker::kSquare;
};

double draw_legend(std::ostringstream& out, const std::vector<LegendItem>& items, double x0,
                   double y0, double max_x) {
  if (items.empty()) return 0.0;
  double x = x0, y = y0;
  out << "<g class=\"legend\">\n";
  for (const auto& item : items) {
    const double w = 30 + text_width(item.name) + 14;
    if (x > x0 && x + w > max_x) {
      x = x0;
      y += 18;
    }
    if (item.line) {
      out << "<line x1=\"" << num(x) << "\" y1=\"" << num(y) << "\" x2=\"" << num(x + 22)
          << "\" y2=\"" << num(y) << "\" stroke=\"" << item.color << "\" stroke-width=\"2\""
          << (item.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
    } else {
      out << marker(item.marker, x + 11, y, 5, item.color, "");
    }
    out << text(x + 28, y + 4, item.name, "fill=\"#222\"");
    x += w;
  }
  out << "</g>\n";
  return y - y0 + 18;
}

/// Height a legend will take, without drawing it.
double legend_height(const std::vector<LegendItem>& items, double x0, double max_x) {
  std::ostringstream sink;
  return draw_legend(sink, items, x0, 0, max_x);
}

std::string color_scale(double t) {
  t = std::clamp(t, 0.0, 1.0);
  // #f7fbff -> #6baed6 -> #08306b
  const double stops[3][3] = {{247, 251, 255}, {107, 174, 214}, {8, 48, 107}};
  const int i = t < 0.5 ? 0 : 1;
  const double u = t < 0.5 ? t / 0.5 : (t - 0.5) / 0.5;
  char buf[8];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x",
                static_cast<int>(std::lround(stops[i][0] + u * (stops[i + 1][0] - stops[i][0]))),
                static_cast<int>(std::lround(stops[i][1] + u * (stops[i + 1][1] - stops[i][1]))),
                static_cast<int>(std::lround(stops[i][2] + u * (stops[i + 1][2] - stops[i][2]))));
  return buf;
}

struct Range {
  double lo = 0.0, hi = 1.0;
};

/// Ticks and bounds of an axis over `values`, honouring fixed bounds.
std::vector<double> axis_ticks(const ChartAxis& axis, std::vector<double> values, bool integer,
                               Range& range) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = 0.0, hi = 1.0;
  const double pad = hi > lo ? 0.05 * (hi - lo) : 0.0;
  double a = axis.min ? *axis.min : lo - pad;
  double b = axis.max ? *axis.max : hi + pad;
  std::vector<double> ticks = nice_ticks(a, b);
  if (integer && ticks.size() > 1 && ticks[1] - ticks[0] < 1.0) {
    ticks.clear();
    for (double t = std::floor(a); t <= std::ceil(b) + 1e-9; t += 1.0) ticks.push_back(t);
    if (ticks.size() == 1) ticks.push_back(ticks[0] + 1.0);
  }
  range.lo = axis.min ? *axis.min : ticks.front();
  range.hi = axis.max ? *axis.max : ticks.back();
  if (range.hi <= range.lo) range.hi = range.lo + 1.0;
  std::vector<double> inside;
  for (double t : ticks) {
    if (t >= range.lo - 1e-9 * std::abs(range.hi - range.lo) &&
        t <= range.hi + 1e-9 * std::abs(range.hi - range.lo))
      inside.push_back(t);
  }
  return inside;
}

}  // namespace

std::string escape_xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
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

std::string format_number(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", std::clamp(decimals, 0, 12), v);
  std::string s = buf;
  // "-0.00" -> "0.00"
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

int tick_decimals(double step) {
  if (!(step > 0) || step >= 1.0) return 0;
  return std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double d = std::abs(lo) > 1e-12 ? 0.1 * std::abs(lo) : 1.0;
    lo -= d;
    hi += d;
  }
  target = std::max(target, 1);
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
  const double first = std::floor(lo / step + 1e-9) * step;
  const double last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    const double t = first + i * step;
    // Snap to the step grid so that 0.30000000000000004 prints and compares as 0.3.
    ticks.push_back(std::round(t / step) * step);
    if (t >= last - 1e-9 * step || i > 1000) break;
  }
  if (ticks.size() == 1) ticks.push_back(ticks[0] + step);
  return ticks;
}

std::string palette_color(size_t index) {
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kColors[index % 10];
}

namespace {

// The plot rectangle of an XY chart and the data ranges mapped onto it.
struct XYPlotArea {
  double px0 = 0, px1 = 0, py0 = 0, py1 = 0;
  Range xr, yr;
  double sx(double v) const { return px0 + (v - xr.lo) / (xr.hi - xr.lo) * (px1 - px0); }
  double sy(double v) const { return py1 - (v - yr.lo) / (yr.hi - yr.lo) * (py1 - py0); }
  bool inside(double x, double y) const {
    return std::isfinite(x) && std::isfinite(y) && x >= xr.lo - 1e-9 && x <= xr.hi + 1e-9 &&
           y >= yr.lo - 1e-9 && y <= yr.hi + 1e-9;
  }
};

// The grid, the frame, the tick labels and the axis titles of an XY chart.
std::string xy_axes(const XYChart& chart, const XYPlotArea& a, const std::vector<double>& xticks,
                    const std::vector<double>& yticks) {
  std::ostringstream out;
  out << "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : xticks)
    out << "<line x1=\"" << num(a.sx(t)) << "\" y1=\"" << num(a.py0) << "\" x2=\"" << num(a.sx(t))
        << "\" y2=\"" << num(a.py1) << "\"/>\n";
  for (double t : yticks)
    out << "<line x1=\"" << num(a.px0) << "\" y1=\"" << num(a.sy(t)) << "\" x2=\"" << num(a.px1)
        << "\" y2=\"" << num(a.sy(t)) << "\"/>\n";
  out << "</g>\n<rect x=\"" << num(a.px0) << "\" y=\"" << num(a.py0) << "\" width=\""
      << num(a.px1 - a.px0) << "\" height=\"" << num(a.py1 - a.py0)
      << "\" fill=\"none\" stroke=\"#555\"/>\n";
  out << "<g class=\"ticks\" fill=\"#333\">\n";
  const int xd = xticks.size() > 1 ? tick_decimals(xticks[1] - xticks[0]) : 0;
  const int yd = yticks.size() > 1 ? tick_decimals(yticks[1] - yticks[0]) : 0;
  for (double t : xticks) {
    const auto i = static_cast<size_t>(std::lround(t));
    const std::string label = chart.x_categories.empty()      ? format_number(t, xd)
                              : i < chart.x_categories.size() ? chart.x_categories[i]
                                                              : std::string();
    out << text(a.sx(t), a.py1 + 17, label, "text-anchor=\"middle\"");
  }
  for (double t : yticks)
    out << text(a.px0 - 7, a.sy(t) + 4, format_number(t, yd), "text-anchor=\"end\"");
  out << "</g>\n";
  out << text((a.px0 + a.px1) / 2, a.py1 + 42, chart.x.label,
              "text-anchor=\"middle\" font-size=\"13\" fill=\"#222\"");
  out << "<text transform=\"translate(18," << num((a.py0 + a.py1) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">"
      << escape_xml(chart.y.label) << "</text>\n";
  return out.str();
}

// The path data of a line or step series through its points inside the plot.
std::string xy_path_data(const ChartSeries& s, size_t n, const XYPlotArea& a) {
  std::string d;
  for (size_t i = 0; i < n; ++i) {
    if (!a.inside(s.xs[i], s.ys[i])) continue;
    if (d.empty()) {
      d = "M" + num(a.sx(s.xs[i])) + "," + num(a.sy(s.ys[i]));
    } else {
      if (s.style == SeriesStyle::kSteps) d += "H" + num(a.sx(s.xs[i]));
      d += (s.style == SeriesStyle::kSteps ? "V" + num(a.sy(s.ys[i]))
                                           : "L" + num(a.sx(s.xs[i])) + "," + num(a.sy(s.ys[i])));
    }
  }
  return d;
}

// One series of an XY chart: its line or its markers, then its point labels.
std::string xy_series(const ChartSeries& s, const XYPlotArea& a) {
  const size_t n = std::min(s.xs.size(), s.ys.size());
  std::ostringstream out;
  out << "<g class=\"series\" data-series=\"" << escape_xml(s.name) << "\">\n";
  if (s.style != SeriesStyle::kPoints && n > 0) {
    out << "<path d=\"" << xy_path_data(s, n, a) << "\" fill=\"none\" stroke=\"" << s.color
        << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << ">"
        << title_element(s.name) << "</path>\n";
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (!a.inside(s.xs[i], s.ys[i])) continue;
      out << marker(s.marker, a.sx(s.xs[i]), a.sy(s.ys[i]), s.marker_size, s.color,
                    i < s.tooltips.size() ? s.tooltips[i] : "");
    }
  }
  for (size_t i = 0; i < n && i < s.labels.size(); ++i) {
    if (s.labels[i].empty() || !a.inside(s.xs[i], s.ys[i])) continue;
    // Labels near the right edge go to the left of their point.
    const double x = a.sx(s.xs[i]);
    const bool flip = x + 8 + text_width(s.labels[i], 11) > a.px1;
    out << text(flip ? x - 8 : x + 8, a.sy(s.ys[i]) - 7, s.labels[i],
                std::string("class=\"point-label\" font-size=\"11\" fill=\"#222\"") +
                    (flip ? " text-anchor=\"end\"" : ""));
  }
  out << "</g>\n";
  return out.str();
}

}  // namespace

std::string render_xy_chart(const XYChart& chart) {
  std::vector<double> all_x, all_y;
  std::vector<LegendItem> legend;
  for (const auto& s : chart.series) {
    all_x.insert(all_x.end(), s.xs.begin(), s.xs.end());
    all_y.insert(all_y.end(), s.ys.begin(), s.ys.end());
    if (!s.name.empty() && s.in_legend) {
      legend.push_back({s.name, s.color, s.style != SeriesStyle::kPoints, s.dashed, s.marker});
    }
  }
  const double left = 76, right = 24, bottom = 58;
  const double legend_h = legend_height(legend, left, chart.width - right);
  XYPlotArea a;
  a.px0 = left;
  a.px1 = chart.width - right;
  a.py0 = 40 + legend_h + 8;
  a.py1 = chart.height - bottom;
  ChartAxis x_axis = chart.x;
  const size_t categories = chart.x_categories.size();
  if (categories) {
    x_axis.min = -0.5;
    x_axis.max = static_cast<double>(categories) - 0.5;
  }
  std::vector<double> xticks = axis_ticks(x_axis, all_x, chart.integer_x, a.xr);
  if (categories) {
    xticks.clear();
    for (size_t i = 0; i < categories; ++i) xticks.push_back(static_cast<double>(i));
  }
  const auto yticks = axis_ticks(chart.y, all_y, false, a.yr);

  std::ostringstream out;
  out << svg_open(chart.width, chart.height, chart.title);
  draw_legend(out, legend, left, 44, chart.width - right);
  out << xy_axes(chart, a, xticks, yticks);
  for (const auto& s : chart.series) out << xy_series(s, a);
  out << "</svg>\n";
  return out.str();
}

std::string render_bar_chart(const BarChart& chart) {
  std::vector<LegendItem> legend;
  for (const auto& [name, color] : chart.legend) legend.push_back({name, color});
  const size_t n = chart.bars.size();
  size_t longest = 1;
  for (const auto& b : chart.bars) longest = std::max(longest, b.label.size());
  const double left = 70, right = 20;
  const double slot = n ? (chart.width - left - right) / static_cast<double>(n) : 1.0;
  const bool rotate = text_width(std::string(longest, 'x'), 11) + 6 > slot;
  const double bottom =
      rotate ? std::min(140.0, 30 + text_width(std::string(longest, 'x'), 11) * 0.72) : 44;
  const double legend_h = legend_height(legend, left, chart.width - right);
  const double top = 40 + legend_h + 8;
  const int height = std::max(chart.height, static_cast<int>(top + 180 + bottom));
  const double px0 = left, px1 = chart.width - right, py0 = top, py1 = height - bottom;

  std::vector<double> values{0.0};
  for (const auto& b : chart.bars) values.push_back(b.value);
  ChartAxis axis = chart.y;
  Range yr;
  const auto yticks = axis_ticks(axis, values, false, yr);
  auto sy = [&](double v) { return py1 - (v - yr.lo) / (yr.hi - yr.lo) * (py1 - py0); };

  std::ostringstream out;
  out << svg_open(chart.width, height, chart.title);
  draw_legend(out, legend, left, 44, chart.width - right);
  out << "<g class=\"grid\" stroke=\"#e3e3e3\">\n";
  for (double t : yticks)
    out << "<line x1=\"" << num(px0) << "\" y1=\"" << num(sy(t)) << "\" x2=\"" << num(px1)
        << "\" y2=\"" << num(sy(t)) << "\"/>\n";
  out << "</g>\n";
  const int yd = yticks.size() > 1 ? tick_decimals(yticks[1] - yticks[0]) : 0;
  out << "<g class=\"ticks\" fill=\"#333\">\n";
  for (double t : yticks)
    out << text(px0 - 7, sy(t) + 4, format_number(t, yd), "text-anchor=\"end\"");
  out << "</g>\n";
  out << "<text transform=\"translate(18," << num((py0 + py1) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">"
      << escape_xml(chart.y.label) << "</text>\n";
  const double zero = sy(std::clamp(0.0, yr.lo, yr.hi));
  out << "<g class=\"bars\">\n";
  for (size_t i = 0; i < n; ++i) {
    const Bar& b = chart.bars[i];
    const double cx = px0 + slot * (i + 0.5);
    const double w = std::clamp(slot * 0.7, 1.0, 64.0);
    const double y = sy(std::clamp(b.value, yr.lo, yr.hi));
    const std::string value_text = format_number(b.value, chart.value_decimals);
    const std::string tip = b.tooltip.empty() ? b.label + ": " + value_text : b.tooltip;
    out << "<rect x=\"" << num(cx - w / 2) << "\" y=\"" << num(std::min(y, zero)) << "\" width=\""
        << num(w) << "\" height=\"" << num(std::max(0.5, std::abs(zero - y))) << "\" fill=\""
        << b.color << "\">" << title_element(tip) << "</rect>\n";
    if (n <= 40) {
      out << text(cx, b.value >= 0 ? y - 4 : y + 12, value_text,
                  "text-anchor=\"middle\" font-size=\"10\" fill=\"#333\"");
    }
    if (rotate) {
      out << "<text transform=\"translate(" << num(cx + 3) << "," << num(py1 + 12)
          << ") rotate(-45)\" text-anchor=\"end\" font-size=\"11\" fill=\"#222\">"
          << escape_xml(b.label) << "</text>\n";
    } else {
      out << text(cx, py1 + 17, b.label, "text-anchor=\"middle\" font-size=\"11\" fill=\"#222\"");
    }
  }
  out << "</g>\n";
  out << "<line x1=\"" << num(px0) << "\" y1=\"" << num(zero) << "\" x2=\"" << num(px1)
      << "\" y2=\"" << num(zero) << "\" stroke=\"#333\"/>\n";
  out << "<line x1=\"" << num(px0) << "\" y1=\"" << num(py0) << "\" x2=\"" << num(px0) << "\" y2=\""
      << num(py1) << "\" stroke=\"#555\"/>\n";
  out << "</svg>\n";
  return out.str();
}

std::string render_stacked_bars(const StackedBarChart& chart) {
  std::vector<LegendItem> legend;
  for (const auto& [name, color] : chart.legend) legend.push_back({name, color});
  size_t longest = 4;
  for (const auto& r : chart.rows) longest = std::max(longest, r.size());
  const double left = std::min(300.0, 16 + text_width(std::string(longest, 'x')));
  const double right = 20, row_h = 20, gap = 8;
  const double legend_h = legend_height(legend, 12, chart.width - right);
  const double top = 40 + legend_h + 8;
  const double px0 = left, px1 = chart.width - right;
  const double rows_h = chart.rows.size() * (row_h + gap);
  const int height = static_cast<int>(top + rows_h + 36);

  std::ostringstream out;
  out << svg_open(chart.width, height, chart.title);
  draw_legend(out, legend, 12, 44, chart.width - right);
  for (int i = 0; i <= 4; ++i) {
    const double x = px0 + (px1 - px0) * i / 4.0;
    out << "<line x1=\"" << num(x) << "\" y1=\"" << num(top - 2) << "\" x2=\"" << num(x)
        << "\" y2=\"" << num(top + rows_h) << "\" stroke=\"#e3e3e3\"/>\n";
    out << text(x, top + rows_h + 14, format_number(i / 4.0, i % 2 ? 2 : 1),
                "text-anchor=\"middle\" fill=\"#333\"");
  }
  out << text((px0 + px1) / 2, top + rows_h + 30, "softmax weight",
              "text-anchor=\"middle\" font-size=\"12\" fill=\"#222\"");
  for (size_t r = 0; r < chart.rows.size(); ++r) {
    const double y = top + r * (row_h + gap);
    out << text(px0 - 8, y + row_h / 2 + 4, chart.rows[r], "text-anchor=\"end\" fill=\"#222\"");
    if (r >= chart.segments.size()) continue;
    double total = 0.0;
    for (const auto& s : chart.segments[r]) total += std::max(0.0, s.value);
    if (total <= 0) continue;
    double x = px0;
    for (const auto& s : chart.segments[r]) {
      const double frac = std::max(0.0, s.value) / total;
      const double w = frac * (px1 - px0);
      out << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w)
          << "\" height=\"" << num(row_h) << "\" fill=\"" << s.color
          << "\" stroke=\"#ffffff\" stroke-width=\"0.6\">"
          << title_element(chart.rows[r] + ": " + s.name + " " + format_number(frac, 3))
          << "</rect>\n";
      const std::string label = s.name + " " + format_number(frac, 2);
      if (w > text_width(label, 11) + 8) {
        out << text(x + w / 2, y + row_h / 2 + 4, label,
                    "text-anchor=\"middle\" font-size=\"11\" fill=\"#ffffff\"");
      }
      x += w;
    }
  }
  out << "</svg>\n";
  return out.str();
}

std::string render_heat_map(const HeatMap& map) {
  size_t longest = 4;
  for (const auto& r : map.row_labels) longest = std::max(longest, r.size());
  const size_t cols = map.col_labels.size();
  const double left = std::min(300.0, 16 + text_width(std::string(longest, 'x')));
  const double legend_w = 90;
  const double cw =
      cols ? std::clamp((map.width - left - legend_w) / static_cast<double>(cols), 6.0, 56.0)
           : 20.0;
  const double ch = 16, top = 44;
  const double grid_h = map.row_labels.size() * ch;
  const bool label_every = cw >= 24;
  const int width = static_cast<int>(std::max<double>(map.width, left + cols * cw + legend_w));
  const int height = static_cast<int>(top + std::max(grid_h, 120.0) + 48);

  std::ostringstream out;
  out << svg_open(width, height, map.title);
  const double span = map.vmax > map.vmin ? map.vmax - map.vmin : 1.0;
  for (size_t r = 0; r < map.row_labels.size(); ++r) {
    const double y = top + r * ch;
    out << text(left - 6, y + ch / 2 + 4, map.row_labels[r],
                "text-anchor=\"end\" font-size=\"11\" fill=\"#222\"");
    for (size_t c = 0; c < cols; ++c) {
      const double v = r < map.values.size() && c < map.values[r].size()
                           ? map.values[r][c]
                           : std::numeric_limits<double>::quiet_NaN();
      const double t = (v - map.vmin) / span;
      const std::string fill = std::isfinite(v) ? color_scale(t) : "#dddddd";
      out << "<rect x=\"" << num(left + c * cw) << "\" y=\"" << num(y) << "\" width=\"" << num(cw)
          << "\" height=\"" << num(ch) << "\" fill=\"" << fill
          << "\" stroke=\"#ffffff\" stroke-width=\"0.5\">"
          << title_element(map.row_labels[r] + ", " + map.col_labels[c] + ": " +
                           (std::isfinite(v) ? format_number(v, 3) : "n/a"))
          << "</rect>\n";
      if (map.show_values && std::isfinite(v) && cw >= 30) {
        out << text(left + c * cw + cw / 2, y + ch / 2 + 4, format_number(v, 2),
                    std::string("text-anchor=\"middle\" font-size=\"10\" fill=\"") +
                        (t > 0.55 ? "#ffffff" : "#222222") + "\"");
      }
    }
  }
  // Column labels: all when there is room, otherwise about ten of them.
  const size_t every = label_every ? 1 : std::max<size_t>(1, (cols + 9) / 10);
  for (size_t c = 0; c < cols; c += every) {
    out << text(left + c * cw + cw / 2, top + grid_h + 14, map.col_labels[c],
                "text-anchor=\"middle\" font-size=\"11\" fill=\"#333\"");
  }
  out << text(left + cols * cw / 2, top + grid_h + 34, map.x_label,
              "text-anchor=\"middle\" font-size=\"12\" fill=\"#222\"");
  // Colour legend: ten boxes from vmax (top) to vmin (bottom).
  const double lx = left + cols * cw + 24;
  for (int i = 0; i < 10; ++i) {
    const double t = 1.0 - i / 9.0;
    out << "<rect x=\"" << num(lx) << "\" y=\"" << num(top + i * 11)
        << "\" width=\"14\" height=\"11\" fill=\"" << color_scale(t) << "\"/>\n";
  }
  out << text(lx + 20, top + 9, format_number(map.vmax, 2), "font-size=\"11\" fill=\"#333\"");
  out << text(lx + 20, top + 108, format_number(map.vmin, 2), "font-size=\"11\" fill=\"#333\"");
  out << "</svg>\n";
  return out.str();
}

}  // namespace frostnas
