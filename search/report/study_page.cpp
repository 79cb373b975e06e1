#include "search/report/study_page.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "search/report/svg_chart.h"

namespace frostnas {

namespace {

constexpr const char* kPairColor = "#9a9a9a";

std::string number(double v, int decimals) { return format_number(v, decimals); }

std::string signed_number(double v, int decimals) {
  const std::string s = format_number(v, decimals);
  return v > 0 ? "+" + s : s;
}

std::string mean_sd(const SampleSummary& s, int decimals) {
  return s.n ? number(s.mean, decimals) + " ± " + number(s.sd, decimals) : "-";
}

std::string criteria_text(const StudyCriteria& c) {
  std::string s = "alpha " + format_number(c.alpha, 3) + ", margin " + format_number(c.margin, 3);
  if (c.min_effect > 0) s += ", min effect " + format_number(c.min_effect, 3);
  if (c.min_same_sign > 0) s += ", same sign in >= " + std::to_string(c.min_same_sign);
  return s;
}

/// Where seed k of n sits beside its variant's category, so that equal values stay apart.
double seed_offset(size_t k, size_t n) {
  const double step = std::min(0.06, 0.5 / static_cast<double>(std::max<size_t>(n, 1)));
  return (static_cast<double>(k) - (static_cast<double>(n) - 1) / 2) * step;
}

size_t seed_index(const StudyConfig& c, int64_t seed) {
  return static_cast<size_t>(std::find(c.seeds.begin(), c.seeds.end(), seed) - c.seeds.begin());
}

/// The grey line joining one test's two values of every paired seed, at categories
/// `xa` and `xb`.
void add_paired_lines(XYChart& chart, const StudyConfig& c, const ComparisonResult& r, double xa,
                      double xb) {
  const int d = metric_decimals(r.b_metric);
  for (size_t k = 0; k < r.seeds.size(); ++k) {
    ChartSeries line;
    line.name = "seed " + std::to_string(r.seeds[k]) + ": " + r.b + " - " + r.a + " = " +
                signed_number(r.b_values[k] - r.a_values[k], d);
    line.in_legend = false;
    line.style = SeriesStyle::kLine;
    line.color = kPairColor;
    const double off = seed_offset(seed_index(c, r.seeds[k]), c.seeds.size());
    line.xs = {xa + off, xb + off};
    line.ys = {r.a_values[k], r.b_values[k]};
    chart.series.push_back(std::move(line));
  }
}

/// The per-seed dots of one variant's values at category `x`.
ChartSeries seed_dots(const StudyConfig& c, const std::string& name, const std::string& metric,
                      const std::vector<int64_t>& seeds, const std::vector<double>& values,
                      double x, size_t color) {
  ChartSeries s;
  s.name = name;
  s.color = palette_color(color);
  s.marker_size = 5;
  for (size_t k = 0; k < seeds.size(); ++k) {
    s.xs.push_back(x + seed_offset(seed_index(c, seeds[k]), c.seeds.size()));
    s.ys.push_back(values[k]);
    s.tooltips.push_back(name + " seed " + std::to_string(seeds[k]) + ": " + metric + " " +
                         number(values[k], metric_decimals(metric)));
  }
  return s;
}

std::string metric_dot_plot(const ReportStudy& st, const MetricSummary& m) {
  const StudyConfig& c = st.config;
  XYChart chart;
  chart.title = m.metric + " per seed (lines join the seeds of each comparison)";
  chart.y.label = m.metric;
  chart.height = 380;
  for (const StudyVariant& v : c.variants) chart.x_categories.push_back(v.name);
  auto index_of = [&](const std::string& name) {
    for (size_t i = 0; i < c.variants.size(); ++i)
      if (c.variants[i].name == name) return static_cast<double>(i);
    return 0.0;
  };
  for (const ComparisonResult& r : st.analysis.comparisons) {
    if (r.a_metric == m.metric && r.b_metric == m.metric)
      add_paired_lines(chart, c, r, index_of(r.a), index_of(r.b));
  }
  ChartSeries means;
  means.name = "mean";
  means.color = "#222";
  means.marker = Marker::kCross;
  means.marker_size = 7;
  for (size_t i = 0; i < m.variants.size(); ++i) {
    const VariantSummary& v = m.variants[i];
    chart.series.push_back(
        seed_dots(c, v.name, m.metric, v.seeds, v.values, static_cast<double>(i), i));
    if (!v.summary.n) continue;
    means.xs.push_back(static_cast<double>(i));
    means.ys.push_back(v.summary.mean);
    means.tooltips.push_back(v.name + ": mean " + mean_sd(v.summary, metric_decimals(m.metric)));
  }
  chart.series.push_back(std::move(means));
  return render_xy_chart(chart);
}

/// A comparison of two metrics: its own two categories and paired lines.
std::string cross_metric_plot(const ReportStudy& st, const ComparisonResult& r) {
  XYChart chart;
  chart.title = r.b + " " + r.b_metric + " against " + r.a + " " + r.a_metric + " per seed";
  chart.y.label = "value";
  chart.height = 340;
  chart.x_categories = {r.a + " (" + r.a_metric + ")", r.b + " (" + r.b_metric + ")"};
  add_paired_lines(chart, st.config, r, 0, 1);
  chart.series.push_back(seed_dots(st.config, r.a, r.a_metric, r.seeds, r.a_values, 0, 0));
  chart.series.push_back(seed_dots(st.config, r.b, r.b_metric, r.seeds, r.b_values, 1, 1));
  return render_xy_chart(chart);
}

std::string html_table(const TextTable& t, size_t first_numeric = 1) {
  std::ostringstream out;
  out << "<table>";
  for (size_t i = 0; i < t.size(); ++i) {
    out << "<tr>";
    for (size_t j = 0; j < t[i].size(); ++j) {
      if (i == 0) {
        out << "<th>" << escape_xml(t[i][j]) << "</th>";
      } else {
        out << (j >= first_numeric ? "<td class=\"num\">" : "<td>") << escape_xml(t[i][j])
            << "</td>";
      }
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

std::string study_summary(const ReportStudy& st) {
  const StudyConfig& c = st.config;
  const StudyAnalysis& a = st.analysis;
  std::ostringstream out;
  out << "<p>" << escape_xml(to_string(c.kind)) << " runs, " << c.variants.size() << " variants x "
      << c.seeds.size() << " seeds (";
  for (size_t i = 0; i < c.seeds.size(); ++i) out << (i ? ", " : "") << c.seeds[i];
  out << "): " << a.runs_done << " done, " << a.runs_failed << " failed, " << a.runs_pending
      << " pending. Runs that share a seed share the data subset, the initialisation and the "
         "data order; each test is on the per-seed differences b - a, Holm-adjusted over all "
      << a.comparisons.size() << " tests of the study.</p>\n";
  return out.str();
}

}  // namespace

TextTable study_variant_table(const StudyConfig& c, const MetricSummary& m) {
  const int d = metric_decimals(m.metric);
  TextTable t;
  t.push_back({"variant", "n", "mean ± sd", "failed", "pending"});
  for (const int64_t seed : c.seeds) t.front().push_back("seed " + std::to_string(seed));
  for (const VariantSummary& v : m.variants) {
    std::vector<std::string> row{v.name, std::to_string(v.summary.n), mean_sd(v.summary, d),
                                 std::to_string(v.failed), std::to_string(v.pending)};
    for (const int64_t seed : c.seeds) {
      const auto it = std::find(v.seeds.begin(), v.seeds.end(), seed);
      row.push_back(it == v.seeds.end()
                        ? "-"
                        : number(v.values[static_cast<size_t>(it - v.seeds.begin())], d));
    }
    t.push_back(std::move(row));
  }
  return t;
}

TextTable study_test_table(const StudyAnalysis& a) {
  TextTable t;
  t.push_back({"comparison (b - a)", "metric", "n", "difference", "95% CI", "same sign",
               "sign-flip p", "t p", "sign-flip p (Holm)", "t p (Holm)", "verdict"});
  for (const ComparisonResult& r : a.comparisons) {
    std::vector<std::string> row{r.b + " - " + r.a, r.metric_label(),
                                 std::to_string(r.seeds.size())};
    if (!r.stats) {
      row.insert(row.end(), {"fewer than 2 paired seeds", "", "", "", "", "", "", ""});
      t.push_back(std::move(row));
      continue;
    }
    const PairedComparison& s = *r.stats;
    const int d = metric_decimals(r.b_metric);
    row.insert(row.end(),
               {signed_number(s.mean_diff, d),
                "[" + signed_number(s.ci_low, d) + ", " + signed_number(s.ci_high, d) + "]",
                std::to_string(r.same_sign) + " of " + std::to_string(r.seeds.size()),
                number(s.sign_flip_p, 4), number(s.t_p, 4), number(r.sign_flip_p_holm, 4),
                number(r.t_p_holm, 4),
                r.verdict ? to_string(*r.verdict) + " (" + criteria_text(*r.criteria) + ")"
                          : "- (no criteria declared)"});
    t.push_back(std::move(row));
  }
  return t;
}

TextTable study_agreement_table(const StudyAnalysis& a) {
  TextTable t;
  if (a.agreement.empty()) return t;
  t.push_back({"variant", "measure", "ops", "seeds", "Kendall's W"});
  for (const RankAgreement& r : a.agreement) {
    t.push_back({r.variant, r.family, std::to_string(r.ops.size()), std::to_string(r.seeds),
                 std::isfinite(r.w) ? number(r.w, 3) : "-"});
  }
  return t;
}

std::string render_study_html(const ReportStudy& st) {
  const StudyAnalysis& a = st.analysis;
  std::ostringstream out;
  out << "<section id=\"study\">\n<h2>Study &ldquo;" << escape_xml(st.config.name)
      << "&rdquo;</h2>\n"
      << study_summary(st);
  for (const MetricSummary& m : a.per_metric) {
    out << "<h3>" << escape_xml(m.metric) << "</h3>\n"
        << metric_dot_plot(st, m) << html_table(study_variant_table(st.config, m));
  }
  for (const ComparisonResult& r : a.comparisons) {
    if (r.a_metric == r.b_metric) continue;
    out << "<h3>" << escape_xml(r.b + " " + r.b_metric + " against " + r.a + " " + r.a_metric)
        << "</h3>\n"
        << cross_metric_plot(st, r);
  }
  out << "</section>\n<section id=\"study-tests\">\n<h2>Comparisons</h2>\n";
  if (a.comparisons.empty()) {
    out << "<p class=\"empty\">The study declares no comparisons.</p>\n";
  } else {
    out << html_table(study_test_table(a), 2)
        << "<p class=\"caption\">Verdicts read the Holm-adjusted t p-value and the 95 % "
           "interval: reproduced when p &lt; alpha and the interval lies above 0 (and the "
           "difference reaches the minimum effect and enough seeds share its sign, if declared), "
           "not reproduced when the "
           "interval lies inside &plusmn;margin, otherwise inconclusive. &ldquo;Same "
           "sign&rdquo; counts the seeds whose difference has the sign of the mean.</p>\n";
  }
  const TextTable agreement = study_agreement_table(a);
  if (!agreement.empty()) {
    out << "<h3>Op ranking across seeds</h3>\n"
        << html_table(agreement, 2)
        << "<p class=\"caption\">Kendall's W of the ops ranked by their weight, one ranking "
           "per seed: 1 when every seed ranks the ops alike, near 0 when the rankings are "
           "unrelated.</p>\n";
  }
  out << "</section>\n";
  return out.str();
}

}  // namespace frostnas
