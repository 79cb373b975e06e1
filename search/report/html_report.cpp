#include "search/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "search/report/study_page.h"
#include "search/report/svg_chart.h"
#include "space/genotype.h"

namespace frostnas {

namespace {

constexpr const char* kSearchColor = "#1f77b4";
constexpr const char* kBaselineColor = "#ff7f0e";
constexpr const char* kFrontColor = "#2ca02c";
constexpr const char* kFailedColor = "#d62728";
constexpr const char* kFoundColor = "#9467bd";
constexpr size_t kMaxDropBars = 24;
constexpr size_t kMaxEvents = 200;

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; color: #222;
       max-width: 1120px; margin: 24px auto; padding: 0 16px; line-height: 1.45; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin-top: 22px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border: 1px solid #d8d8d8; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.json td { border-top: none; background: #fbfbfb; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 8px; overflow: auto;
      max-height: 420px; font-size: 12px; margin: 4px 0; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
p.empty { color: #666; font-style: italic; background: #fafafa; border: 1px dashed #ccc;
          padding: 10px; }
p.caption { color: #555; font-size: 13px; margin-top: 0; }
.meta td:first-child { font-weight: bold; background: #f7f7f7; }
.warn { background: #fff8e1; border: 1px solid #f0c36d; padding: 8px 12px; }
nav a { margin-right: 14px; }
.yes { color: #1a7f37; font-weight: bold; }
footer { margin-top: 40px; color: #888; font-size: 12px; }
)";

std::string esc(const std::string& s) { return escape_xml(s); }

std::string cell(const std::string& s, bool numeric = false) {
  return std::string(numeric ? "<td class=\"num\">" : "<td>") + esc(s) + "</td>";
}

std::string yes_no(bool v) { return v ? "<td class=\"yes\">yes</td>" : "<td>no</td>"; }

std::string empty_note(const std::string& s) { return "<p class=\"empty\">" + esc(s) + "</p>\n"; }

std::string model_tooltip(const ReportModel& m) {
  std::string t = m.label + (m.arch_hash.empty() ? "" : " (" + m.arch_hash + ")");
  t += "\nINT8 accuracy " + format_metric(m.int8_acc, 2) + "%";
  t += "\nlatency " + format_metric(m.latency_ms, 3) + " ms (" + m.latency_source + ")";
  if (m.fp32_acc) t += "\nFP32 accuracy " + format_metric(m.fp32_acc, 2) + "%";
  if (m.reward) t += "\nreward " + format_metric(m.reward, 4);
  if (m.on_front) t += "\non the Pareto front";
  return t;
}

std::string latency_cell(const ReportModel& m) {
  return "<td class=\"num\">" + esc(format_metric(m.latency_ms, 3)) +
         (m.latency_source == "predicted"
              ? "<sup title=\"predicted from the latency table\">p</sup>"
              : "") +
         "</td>";
}

std::string json_details(const std::string& summary, const nlohmann::json& j) {
  return "<details><summary>" + esc(summary) + "</summary><pre>" + esc(j.dump(2)) +
         "</pre></details>";
}

// Indices of models by group: search candidates, retrained found networks, baselines.
struct GroupedModels {
  std::vector<size_t> search, found, baselines;
  bool empty() const { return search.empty() && found.empty() && baselines.empty(); }
};

// The models that `keep` accepts, by group.
GroupedModels html_models_by_group(const ReportData& d, bool (*keep)(const ReportModel&)) {
  GroupedModels g;
  for (size_t i = 0; i < d.models.size(); ++i) {
    const ReportModel& m = d.models[i];
    if (!keep(m)) continue;
    (m.group == kBaselineGroup ? g.baselines
     : m.group == kFoundGroup  ? g.found
                               : g.search)
        .push_back(i);
  }
  return g;
}

// `s` with one point per model of `idx`, labelled if `label_all` or on the front.
ChartSeries html_model_points(const ReportData& d, const std::vector<size_t>& idx, ChartSeries s,
                              bool label_all) {
  for (size_t i : idx) {
    const ReportModel& m = d.models[i];
    s.xs.push_back(*m.latency_ms);
    s.ys.push_back(*m.int8_acc);
    s.tooltips.push_back(model_tooltip(m));
    s.labels.push_back(label_all || m.on_front ? m.label : "");
  }
  return s;
}

// A step line through the models of a Pareto front.
ChartSeries html_front_line(const ReportData& d, const std::vector<size_t>& front,
                            const std::string& name, const char* color, bool dashed) {
  ChartSeries line;
  line.name = name;
  line.color = color;
  line.style = SeriesStyle::kSteps;
  line.dashed = dashed;
  for (size_t i : front) {
    line.xs.push_back(*d.models[i].latency_ms);
    line.ys.push_back(*d.models[i].int8_acc);
  }
  return line;
}

// The accuracy / latency chart: the fronts, the groups' points, rings on the front.
std::string html_pareto_chart(const ReportData& d, const GroupedModels& g) {
  XYChart chart;
  chart.title = "INT8 accuracy vs " + d.latency_precision + " latency";
  chart.x.label = d.latency_precision + " latency (ms)";
  chart.y.label = "INT8 top-1 accuracy (%)";
  const ChartSeries front =
      html_front_line(d, d.front, "Pareto front (" + d.front_scope + ")", kFrontColor, false);
  if (front.xs.size() >= 2) chart.series.push_back(front);
  if (d.baseline_front.size() >= 2) {
    chart.series.push_back(
        html_front_line(d, d.baseline_front, "Pareto front (baselines)", kBaselineColor, true));
  }
  ChartSeries s;
  s.name = "search candidates (" + std::to_string(g.search.size()) + ")";
  s.color = kSearchColor;
  if (!g.search.empty()) chart.series.push_back(html_model_points(d, g.search, s, false));
  ChartSeries f;
  f.name = "retrained found networks (" + std::to_string(g.found.size()) + ")";
  f.color = kFoundColor;
  f.marker = Marker::kDiamond;
  f.marker_size = 5;
  if (!g.found.empty()) chart.series.push_back(html_model_points(d, g.found, f, true));
  ChartSeries b;
  b.name = "baselines (" + std::to_string(g.baselines.size()) + ")";
  b.color = kBaselineColor;
  b.marker = Marker::kSquare;
  b.marker_size = 5;
  if (!g.baselines.empty()) chart.series.push_back(html_model_points(d, g.baselines, b, true));
  ChartSeries ring;
  ring.name = "on the front";
  ring.color = kFrontColor;
  ring.marker = Marker::kRing;
  ring.marker_size = 8;
  for (size_t i : d.front) {
    ring.xs.push_back(*d.models[i].latency_ms);
    ring.ys.push_back(*d.models[i].int8_acc);
    ring.tooltips.push_back(model_tooltip(d.models[i]));
  }
  chart.series.push_back(ring);
  return render_xy_chart(chart);
}

// The caption under the chart: the groups' sizes and where the latencies come from.
std::string html_pareto_caption(const ReportData& d, const GroupedModels& g) {
  size_t measured = 0, predicted = 0;
  for (const auto* idx : {&g.search, &g.found, &g.baselines}) {
    for (size_t i : *idx) (d.models[i].latency_source == "measured" ? measured : predicted)++;
  }
  std::ostringstream out;
  out << "<p class=\"caption\">" << g.search.size() << " search candidates, "
      << (g.found.empty() ? "" : std::to_string(g.found.size()) + " retrained found networks, ")
      << g.baselines.size() << " baselines. Latency is measured for " << measured
      << " models and predicted from the "
      << "latency table for " << predicted
      << " (marked <sup>p</sup> in the tables). A model is on the Pareto front when no other "
         "model is at least as accurate and at least as fast.</p>\n";
  return out.str();
}

// The table of the front's models; with baselines, per group how many they do not dominate.
std::string html_front_table(const ReportData& d, const GroupedModels& g) {
  const bool baselines = !g.baselines.empty();
  std::ostringstream out;
  out << "<h3>Pareto front</h3>\n<table class=\"front\"><tr><th>model</th><th>group</th>"
         "<th>INT8 acc (%)</th><th>latency (ms)</th><th>FP32 acc (%)</th><th>reward</th>";
  if (baselines) out << "<th>beyond baselines' front</th>";
  out << "</tr>\n";
  for (size_t i : d.front) {
    const ReportModel& m = d.models[i];
    out << "<tr>" << cell(m.label) << cell(m.group) << cell(format_metric(m.int8_acc, 2), true)
        << latency_cell(m) << cell(format_metric(m.fp32_acc, 2), true)
        << cell(format_metric(m.reward, 4), true);
    if (baselines) out << (m.beyond_baselines ? yes_no(*m.beyond_baselines) : cell("-"));
    out << "</tr>\n";
  }
  out << "</table>\n";
  if (!baselines) return out.str();
  for (const auto& [idx, what] : {std::make_pair(&g.found, "retrained found networks"),
                                  std::make_pair(&g.search, "search candidates")}) {
    if (idx->empty()) continue;
    size_t beyond = 0, on_front = 0;
    for (size_t i : *idx) {
      if (d.models[i].beyond_baselines.value_or(false)) ++beyond;
      if (d.models[i].on_front) ++on_front;
    }
    out << "<p class=\"caption beyond\">" << beyond << " of " << idx->size() << " " << what
        << " are not dominated by any baseline; " << on_front << " lie on the front of "
        << escape_xml(d.front_scope) << ".</p>\n";
  }
  return out.str();
}

/// Section 1: the accuracy / latency plane.
std::string pareto_section(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"pareto\">\n<h2>1. INT8 accuracy against " << esc(d.latency_precision)
      << " latency</h2>\n";
  const GroupedModels g =
      html_models_by_group(d, [](const ReportModel& m) -> bool { return m.plotted; });
  if (g.empty()) {
    out << empty_note(
        "No finished candidate has both an INT8 accuracy and a latency yet: nothing to plot.");
    out << "</section>\n";
    return out.str();
  }
  out << html_pareto_chart(d, g) << html_pareto_caption(d, g) << html_front_table(d, g);
  out << "</section>\n";
  return out.str();
}

/// Section 2: reward over candidates.
std::string reward_section(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"reward\">\n<h2>2. Reward over time</h2>\n";
  ChartSeries done, failed, best;
  done.name = "reward";
  done.color = kSearchColor;
  failed.name = "failed (penalty reward)";
  failed.color = kFailedColor;
  failed.marker = Marker::kCross;
  best.name = "running best";
  best.color = kFrontColor;
  best.style = SeriesStyle::kSteps;
  double running = -std::numeric_limits<double>::infinity();
  for (size_t i : d.group(kSearchGroup)) {
    const ReportModel& m = d.models[i];
    if (!m.reward || !std::isfinite(*m.reward)) continue;
    ChartSeries& s = m.status == CandidateStatus::kFailed ? failed : done;
    s.xs.push_back(static_cast<double>(m.seq));
    s.ys.push_back(*m.reward);
    s.tooltips.push_back(
        m.label + ": reward " + format_number(*m.reward, 4) +
        (m.status == CandidateStatus::kFailed ? " (failed: " + m.error + ")" : ""));
    running = std::max(running, *m.reward);
    best.xs.push_back(static_cast<double>(m.seq));
    best.ys.push_back(running);
  }
  if (best.xs.empty()) {
    out << empty_note("No candidate has a reward yet.") << "</section>\n";
    return out.str();
  }
  XYChart chart;
  chart.title = "Reward per candidate";
  chart.x.label = "candidate (order of sampling)";
  chart.y.label = "reward";
  chart.integer_x = true;
  chart.series.push_back(best);
  if (!done.xs.empty()) chart.series.push_back(done);
  if (!failed.xs.empty()) chart.series.push_back(failed);
  out << render_xy_chart(chart);
  out << "<p class=\"caption\">" << best.xs.size() << " rewarded candidates; best reward "
      << format_number(running, 4) << ".</p>\n</section>\n";
  return out.str();
}

/// Section 3: the FP32-to-INT8 drop.
std::string drop_section(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"drop\">\n<h2>3. FP32 to INT8 accuracy drop</h2>\n";
  GroupedModels g = html_models_by_group(d, [](const ReportModel& m) -> bool {
    return m.status == CandidateStatus::kDone && m.int8_drop();
  });
  std::vector<size_t>& search = g.search;
  const std::vector<size_t>& found = g.found;
  const std::vector<size_t>& baselines = g.baselines;
  if (g.empty()) {
    out << empty_note("No model has both an FP32 and an INT8 accuracy recorded.") << "</section>\n";
    return out.str();
  }
  const size_t total_search = search.size();
  // The best search models by reward (then sequence), at most kMaxDropBars.
  std::stable_sort(search.begin(), search.end(), [&](size_t a, size_t b) {
    return d.models[a].reward.value_or(-1e300) > d.models[b].reward.value_or(-1e300);
  });
  if (search.size() > kMaxDropBars) search.resize(kMaxDropBars);
  BarChart chart;
  chart.title = "FP32 minus INT8 accuracy per model";
  chart.y.label = "accuracy drop (percentage points)";
  // Adds one bar per model of a group and returns the group's summed drop.
  auto add_bars = [&](const std::vector<size_t>& group, const std::string& color) {
    double sum = 0;
    for (size_t i : group) {
      const ReportModel& m = d.models[i];
      chart.bars.push_back({m.label, *m.int8_drop(), color,
                            m.label + ": FP32 " + format_metric(m.fp32_acc, 2) + "%, INT8 " +
                                format_metric(m.int8_acc, 2) + "%, drop " +
                                format_number(*m.int8_drop(), 2)});
      sum += *m.int8_drop();
    }
    return sum;
  };
  const double sum_f = add_bars(found, kFoundColor);
  const double sum_b = add_bars(baselines, kBaselineColor);
  const double sum_s = add_bars(search, kSearchColor);
  if (!found.empty()) chart.legend.push_back({"retrained found networks", kFoundColor});
  if (!search.empty()) chart.legend.push_back({"search candidates", kSearchColor});
  if (!baselines.empty()) chart.legend.push_back({"baselines", kBaselineColor});
  out << render_bar_chart(chart);
  out << "<p class=\"caption\">Positive values: INT8 loses accuracy. Shown: ";
  if (!found.empty())
    out << found.size() << " retrained found networks (mean drop "
        << format_number(sum_f / found.size(), 2) << " pp)"
        << (baselines.empty() && search.empty() ? "" : ", ");
  if (!baselines.empty())
    out << baselines.size() << " baselines (mean drop "
        << format_number(sum_b / baselines.size(), 2) << " pp)" << (search.empty() ? "" : " and ");
  if (!search.empty())
    out << "the " << search.size() << " best search candidates by reward of " << total_search
        << " with both accuracies (mean drop " << format_number(sum_s / search.size(), 2) << " pp)";
  out << ".</p>\n</section>\n";
  return out.str();
}

/// A colour per op name: the registry's order first, then in order of appearance.
std::map<std::string, std::string> op_colors(const ReportData& d) {
  std::map<std::string, std::string> colors;
  size_t next = 0;
  for (const auto& name : cell_op_names()) colors[name] = palette_color(next++);
  for (const auto& stage : d.arch_weights) {
    for (const auto& epoch : stage.epochs) {
      for (const auto& edge : epoch.edges) {
        for (const auto& op : edge.ops) {
          if (!colors.count(op)) colors[op] = palette_color(next++);
        }
      }
    }
  }
  return colors;
}

// Stacked bars of the softmaxed op weights of each edge of one epoch.
std::string html_edge_weight_bars(const EpochWeights& last,
                                  const std::map<std::string, std::string>& colors) {
  StackedBarChart bars;
  bars.title = "Softmaxed op weights per edge";
  std::vector<std::string> used;
  for (const auto& edge : last.edges) {
    bars.rows.push_back(edge.name);
    std::vector<StackSegment> segments;
    for (size_t k = 0; k < edge.ops.size(); ++k) {
      segments.push_back({edge.ops[k], edge.probs[k], colors.at(edge.ops[k])});
      if (std::find(used.begin(), used.end(), edge.ops[k]) == used.end())
        used.push_back(edge.ops[k]);
    }
    bars.segments.push_back(segments);
  }
  for (const auto& op : used) bars.legend.push_back({op, colors.at(op)});
  return render_stacked_bars(bars);
}

// A table of the strongest op and the runner-up of each edge of one epoch.
std::string html_argmax_table(const EpochWeights& last) {
  std::ostringstream out;
  out << "<table class=\"argmax\"><tr><th>edge</th><th>strongest op</th><th>weight</th>"
         "<th>runner-up</th><th>weight</th></tr>\n";
  for (const auto& edge : last.edges) {
    std::vector<size_t> order(edge.probs.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return edge.probs[a] > edge.probs[b]; });
    out << "<tr>" << cell(edge.name) << cell(edge.ops[order[0]])
        << cell(format_number(edge.probs[order[0]], 3), true)
        << (order.size() > 1
                ? cell(edge.ops[order[1]]) + cell(format_number(edge.probs[order[1]], 3), true)
                : cell("-") + cell("-"))
        << "</tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

// The weight of `op` on the edge named `edge` in one epoch (NaN where it has none).
double html_op_weight(const EpochWeights& epoch, const std::string& edge, const std::string& op) {
  double v = std::numeric_limits<double>::quiet_NaN();
  for (const auto& other : epoch.edges) {
    if (other.name != edge) continue;
    for (size_t k = 0; k < other.ops.size(); ++k) {
      if (other.ops[k] == op) v = other.probs[k];
    }
  }
  return v;
}

// A heat map of each op weight of the last epoch's edges over the epochs of a stage.
std::string html_weights_heat_map(const StageWeights& stage) {
  const EpochWeights& last = stage.epochs.back();
  HeatMap map;
  map.title = "Op weights over the epochs of stage " + std::to_string(stage.stage);
  map.x_label = "epoch";
  for (const auto& e : stage.epochs) map.col_labels.push_back(std::to_string(e.epoch));
  map.show_values = stage.epochs.size() <= 12;
  for (const auto& edge : last.edges) {
    for (const auto& op : edge.ops) {
      map.row_labels.push_back(edge.name + ": " + op);
      std::vector<double> row;
      for (const auto& e : stage.epochs) row.push_back(html_op_weight(e, edge.name, op));
      map.values.push_back(row);
    }
  }
  // The colour scale ends at the largest weight (rounded up to 0.05), so that the
  // typical 0.1-0.4 weights of a young search stay distinguishable.
  double top = 0.05;
  for (const auto& row : map.values) {
    for (double v : row) {
      if (std::isfinite(v)) top = std::max(top, v);
    }
  }
  map.vmax = std::min(1.0, std::ceil(top / 0.05 - 1e-9) * 0.05);
  return render_heat_map(map);
}

/// Whether the derived genotype is a finding, and the margin of each derived edge.
std::string html_evidence(const ReportData& d) {
  if (!d.cell_evidence) return "";
  const DerivationEvidence& ev = *d.cell_evidence;
  std::ostringstream out;
  out << "<p><strong>" << esc(describe_derivation(ev)) << "</strong></p>\n"
      << "<table><tr><th>node</th><th>input</th><th>op</th><th>runner-up</th><th>margin</th>"
         "<th>decided</th></tr>\n";
  for (const auto& e : ev.edges) {
    out << "<tr>" << cell(std::to_string(e.node), true) << cell(std::to_string(e.input), true)
        << cell(e.op) << cell(e.runner_up.empty() ? "-" : e.runner_up)
        << cell(format_number(e.margin, 3), true) << yes_no(e.decided) << "</tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

/// Section 4: the cell search's architecture weights.
std::string cell_section(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"cell\">\n<h2>4. Architecture weights of the cell search</h2>\n";
  if (d.arch_weights.empty()) {
    out << empty_note(
               "No architecture weights are recorded for this experiment (a cell search writes "
               "them after every epoch).")
        << "</section>\n";
    return out.str();
  }
  out << html_evidence(d);
  const auto colors = op_colors(d);
  for (const auto& stage : d.arch_weights) {
    if (stage.epochs.empty()) continue;
    const EpochWeights& last = stage.epochs.back();
    out << "<h3>Stage " << stage.stage << ": epoch " << last.epoch << " (last of "
        << stage.epochs.size() << " recorded)</h3>\n";
    out << html_edge_weight_bars(last, colors) << html_argmax_table(last);
    if (stage.epochs.size() >= 2) out << html_weights_heat_map(stage);
  }
  out << "</section>\n";
  return out.str();
}

std::string model_header(bool baselines) {
  return std::string("<tr>") + (baselines ? "<th>model</th><th>experiment</th>" : "<th>rank</th>") +
         "<th>candidate</th><th>hash</th><th>reward</th><th>INT8 acc (%)</th>"
         "<th>QAT acc (%)</th><th>FP32 acc (%)</th><th>drop (pp)</th><th>latency (ms)</th>"
         "<th>params</th><th>MACs</th><th>Pareto front</th><th>train (s)</th></tr>\n";
}

std::string model_row(const ReportModel& m) {
  return cell("#" + std::to_string(m.seq)) + "<td><code>" + esc(m.arch_hash) + "</code></td>" +
         cell(format_metric(m.reward, 4), true) + cell(format_metric(m.int8_acc, 2), true) +
         cell(format_metric(m.qat_acc, 2), true) + cell(format_metric(m.fp32_acc, 2), true) +
         cell(format_metric(m.int8_drop(), 2), true) + latency_cell(m) +
         cell(format_optional_count(m.params), true) + cell(format_optional_count(m.macs), true) +
         (m.plotted ? yes_no(m.on_front) : cell("-")) +
         cell(format_metric(m.train_seconds, 1), true);
}

/// Section 5: the top architectures; then the baselines and the failures.
std::string top_section(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"top\">\n<h2>5. Top architectures</h2>\n";
  if (d.top.empty()) {
    out << empty_note("No candidate of this experiment has finished with a reward yet.");
  } else {
    out << "<table class=\"top\">\n" << model_header(false);
    int rank = 1;
    for (size_t i : d.top) {
      const ReportModel& m = d.models[i];
      out << "<tr>" << cell(std::to_string(rank++), true) << model_row(m) << "</tr>\n";
      out << "<tr class=\"json\"><td colspan=\"13\">"
          << json_details("architecture JSON of #" + std::to_string(m.seq) +
                              (m.arch_name.empty() ? "" : " (" + m.arch_name + ")"),
                          m.arch)
          << "</td></tr>\n";
    }
    out << "</table>\n<p class=\"caption\">By reward. Drop: FP32 minus INT8 accuracy. Latency "
           "<sup>p</sup>: predicted from the latency table.</p>\n";
  }
  out << "</section>\n";

  std::map<int64_t, std::string> names;
  for (const auto& e : d.baseline_experiments) names[e.id] = e.name;
  // One row per model plus a row with its architecture JSON.
  auto model_rows = [&](const std::vector<size_t>& models) {
    for (size_t i : models) {
      const ReportModel& m = d.models[i];
      out << "<tr>" << cell(m.label)
          << cell(std::to_string(m.experiment_id) +
                  (names.count(m.experiment_id) ? " " + names[m.experiment_id] : ""))
          << model_row(m) << "</tr>\n";
      out << "<tr class=\"json\"><td colspan=\"14\">"
          << json_details("architecture JSON of " + m.label, m.arch) << "</td></tr>\n";
    }
  };
  if (!d.group(kFoundGroup).empty()) {
    out << "<section id=\"found\">\n<h2>Retrained found networks</h2>\n";
    out << "<table class=\"found\">\n" << model_header(true);
    model_rows(d.group(kFoundGroup));
    out << "</table>\n</section>\n";
  }
  out << "<section id=\"baselines\">\n<h2>Baselines</h2>\n";
  const auto baselines = d.group(kBaselineGroup);
  if (baselines.empty()) {
    out << empty_note(
        "No baselines: pass --baselines ID,ID, or name them in the experiment's config or a "
        "stage result (\"baseline_experiments\").");
  } else {
    out << "<table class=\"baselines\">\n" << model_header(true);
    model_rows(baselines);
    out << "</table>\n";
  }
  out << "</section>\n";

  std::vector<size_t> failed;
  for (size_t i = 0; i < d.models.size(); ++i) {
    if (d.models[i].status == CandidateStatus::kFailed) failed.push_back(i);
  }
  if (!failed.empty()) {
    out << "<section id=\"failed\">\n<h2>Failed candidates</h2>\n<table><tr><th>model</th>"
           "<th>hash</th><th>reward</th><th>error</th></tr>\n";
    for (size_t i : failed) {
      const ReportModel& m = d.models[i];
      out << "<tr>" << cell(m.label) << cell(m.arch_hash) << cell(format_metric(m.reward, 4), true)
          << cell(m.error) << "</tr>\n";
    }
    out << "</table>\n</section>\n";
  }
  return out.str();
}

/// The title and the first rows of the experiment table (left open for more rows).
std::string experiment_meta(const ReportData& d) {
  const ExperimentRecord& e = d.experiment;
  std::ostringstream out;
  out << "<h1>frostnas report: experiment " << e.id << " &ldquo;" << esc(e.name)
      << "&rdquo;</h1>\n<table class=\"meta\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    out << "<tr><td>" << esc(k) << "</td><td>" << esc(v) << "</td></tr>\n";
  };
  row("kind", e.kind);
  row("status", to_string(e.status));
  row("seed", std::to_string(e.seed));
  row("program version", e.program_version);
  row("created / updated", e.created_at + " / " + e.updated_at);
  row("database", d.db_path);
  return out.str();
}

std::string study_header(const ReportData& d) {
  return experiment_meta(d) +
         "</table>\n<nav><a href=\"#study\">study</a><a href=\"#study-tests\">comparisons</a>"
         "<a href=\"#config\">config</a><a href=\"#events\">events</a></nav>\n";
}

std::string header(const ReportData& d) {
  std::map<std::string, int> counts;
  for (size_t i : d.group(kSearchGroup)) counts[to_string(d.models[i].status)]++;
  std::string summary = std::to_string(d.group(kSearchGroup).size()) + " (";
  bool first = true;
  for (const auto& [status, n] : counts) {
    summary += (first ? "" : ", ") + std::to_string(n) + " " + status;
    first = false;
  }
  summary += ")";
  std::ostringstream out;
  out << experiment_meta(d);
  auto row = [&](const std::string& k, const std::string& v) {
    out << "<tr><td>" << esc(k) << "</td><td>" << esc(v) << "</td></tr>\n";
  };
  row("candidates", summary);
  if (!d.top.empty()) {
    const ReportModel& b = d.models[d.top.front()];
    row("best", b.label + ": reward " + format_metric(b.reward, 4) + ", INT8 " +
                    format_metric(b.int8_acc, 2) + "%, " + format_metric(b.latency_ms, 3) + " ms");
  }
  std::string names;
  for (const auto& b : d.baseline_experiments)
    names += (names.empty() ? "" : ", ") + std::to_string(b.id) + " " + b.name;
  const size_t found = d.group(kFoundGroup).size(), baselines = d.group(kBaselineGroup).size();
  if (found) row("retrained found networks", std::to_string(found));
  row("baselines", std::to_string(baselines) + " models" +
                       (names.empty() ? "" : " (experiments " + names + ")"));
  out << "</table>\n";
  if (!d.warnings.empty()) {
    out << "<div class=\"warn\"><strong>Warnings</strong><ul>\n";
    for (const auto& w : d.warnings) out << "<li>" << esc(w) << "</li>\n";
    out << "</ul></div>\n";
  }
  out << "<nav><a href=\"#pareto\">accuracy vs latency</a><a href=\"#reward\">reward</a>"
         "<a href=\"#drop\">INT8 drop</a><a href=\"#cell\">cell weights</a>"
         "<a href=\"#top\">top architectures</a><a href=\"#baselines\">baselines</a>"
         "<a href=\"#stages\">stages</a><a href=\"#config\">config</a>"
         "<a href=\"#events\">events</a></nav>\n";
  return out.str();
}

std::string tail_sections(const ReportData& d) {
  std::ostringstream out;
  out << "<section id=\"stages\">\n<h2>Pipeline stages</h2>\n";
  if (d.stages.empty()) {
    out << empty_note("No pipeline stages are recorded for this experiment.");
  } else {
    out << "<table><tr><th>stage</th><th>status</th><th>updated</th><th>result</th></tr>\n";
    for (const auto& s : d.stages) {
      out << "<tr>" << cell(s.name) << cell(to_string(s.status)) << cell(s.updated_at) << "<td>"
          << json_details("result", s.result) << "</td></tr>\n";
    }
    out << "</table>\n";
  }
  out << "</section>\n<section id=\"config\">\n<h2>Experiment config</h2>\n<pre>"
      << esc(d.experiment.config.dump(2)) << "</pre>\n</section>\n";
  out << "<section id=\"events\">\n<h2>Events</h2>\n";
  if (d.events.empty()) {
    out << empty_note("No events are logged for this experiment.");
  } else {
    const size_t first = d.events.size() > kMaxEvents ? d.events.size() - kMaxEvents : 0;
    out << "<details><summary>" << d.events.size() << " events"
        << (first ? " (the last " + std::to_string(kMaxEvents) + " shown)" : "")
        << "</summary>\n<table><tr><th>time</th><th>level</th><th>message</th></tr>\n";
    for (size_t i = first; i < d.events.size(); ++i) {
      const EventRecord& e = d.events[i];
      out << "<tr>" << cell(e.time) << cell(to_string(e.level)) << cell(e.message) << "</tr>\n";
    }
    out << "</table>\n</details>\n";
  }
  out << "</section>\n";
  return out.str();
}

}  // namespace

std::string render_html_report(const ReportData& d) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>frostnas report: experiment " << d.experiment.id << " " << esc(d.experiment.name)
      << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  if (d.study) {
    out << study_header(d) << render_study_html(*d.study) << tail_sections(d);
  } else {
    out << header(d);
    out << pareto_section(d) << reward_section(d) << drop_section(d) << cell_section(d)
        << top_section(d) << tail_sections(d);
  }
  out << "<footer>Generated by <code>frostnas report</code> from " << esc(d.db_path)
      << ". Self-contained: no scripts, no external resources.</footer>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace frostnas
