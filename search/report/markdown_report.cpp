#include "search/report/markdown_report.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "search/report/study_page.h"
#include "search/report/svg_chart.h"

namespace frostnas {

namespace {

/// Text for a table cell or a heading: `|` and `<` backslash-escaped (no raw HTML
/// gets through a Markdown renderer), line breaks flattened.
std::string md(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '<') {
      out += '\\';
      out += c;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + md(c) + " |";
  return out + "\n";
}

std::string rule(size_t columns) {
  std::string out = "|";
  for (size_t i = 0; i < columns; ++i) out += " --- |";
  return out + "\n";
}

std::string latency(const ReportModel& m) {
  return format_metric(m.latency_ms, 3) + (m.latency_source == "predicted" ? " (p)" : "");
}

std::string front_mark(const ReportModel& m) {
  return m.plotted ? (m.on_front ? "yes" : "no") : "-";
}

std::string beyond_mark(const ReportModel& m) {
  return m.beyond_baselines ? (*m.beyond_baselines ? "yes" : "no") : "-";
}

// The title and the list of the experiment's facts and warnings.
std::string markdown_summary(const ReportData& d, const std::vector<size_t>& search) {
  const ExperimentRecord& e = d.experiment;
  std::ostringstream out;
  out << "# frostnas report: experiment " << e.id << " \"" << md(e.name) << "\"\n\n";
  std::map<std::string, int> counts;
  for (size_t i : search) counts[to_string(d.models[i].status)]++;
  out << "- kind: " << e.kind << ", status: " << to_string(e.status) << ", seed: " << e.seed
      << "\n";
  out << "- database: " << d.db_path << "\n";
  out << "- candidates: " << search.size();
  for (const auto& [status, n] : counts) out << ", " << n << " " << status;
  out << "\n- latency: " << d.latency_precision
      << " ms, measured where recorded, else predicted from the latency table (p)\n";
  for (const auto& w : d.warnings) out << "- warning: " << md(w) << "\n";
  return out.str();
}

// The table of the top architectures, or a line saying there are none.
std::string markdown_top_table(const ReportData& d) {
  if (d.top.empty()) return "No candidate has finished with a reward yet.\n";
  std::string out = row({"rank", "candidate", "hash", "reward", "INT8 acc (%)", "FP32 acc (%)",
                         "drop (pp)", "latency (ms)", "params", "Pareto front"}) +
                    rule(10);
  int rank = 1;
  for (size_t i : d.top) {
    const ReportModel& m = d.models[i];
    out += row({std::to_string(rank++), m.label, m.arch_hash, format_metric(m.reward, 4),
                format_metric(m.int8_acc, 2), format_metric(m.fp32_acc, 2),
                format_metric(m.int8_drop(), 2), latency(m), format_optional_count(m.params),
                front_mark(m)});
  }
  return out;
}

// A table of the models of `idx`; with `beyond`, a column of their verdict against the
// baselines' front.
std::string markdown_group_table(const ReportData& d, const std::vector<size_t>& idx, bool beyond) {
  std::vector<std::string> head{"model",     "experiment",   "INT8 acc (%)", "FP32 acc (%)",
                                "drop (pp)", "latency (ms)", "params",       "Pareto front"};
  if (beyond) head.push_back("beyond baselines' front");
  std::string out = row(head) + rule(head.size());
  for (size_t i : idx) {
    const ReportModel& m = d.models[i];
    std::vector<std::string> cells{m.label,
                                   std::to_string(m.experiment_id),
                                   format_metric(m.int8_acc, 2),
                                   format_metric(m.fp32_acc, 2),
                                   format_metric(m.int8_drop(), 2),
                                   latency(m),
                                   format_optional_count(m.params),
                                   front_mark(m)};
    if (beyond) cells.push_back(beyond_mark(m));
    out += row(cells);
  }
  return out;
}

// Per group, a line saying how many of its plotted models no baseline dominates.
std::string markdown_beyond_lines(const ReportData& d, const std::vector<size_t>& found,
                                  const std::vector<size_t>& search) {
  std::ostringstream out;
  for (const auto& [idx, what] : {std::make_pair(&found, "retrained found networks"),
                                  std::make_pair(&search, "search candidates")}) {
    size_t plotted = 0, beyond = 0, on_front = 0;
    for (size_t i : *idx) {
      const ReportModel& m = d.models[i];
      if (!m.plotted) continue;
      ++plotted;
      if (m.beyond_baselines.value_or(false)) ++beyond;
      if (m.on_front) ++on_front;
    }
    if (plotted == 0) continue;
    out << "\n"
        << beyond << " of " << plotted << " " << what << " are not dominated by any baseline; "
        << on_front << " lie on the front of " << d.front_scope << ".\n";
  }
  return out.str();
}

// The Pareto front section: the front's models, then the lines on the baselines.
std::string markdown_pareto_section(const ReportData& d, const std::vector<size_t>& search,
                                    const std::vector<size_t>& found, bool has_baselines) {
  std::string out =
      "\n## Pareto front (INT8 accuracy against " + d.latency_precision + " latency)\n\n";
  if (d.front.empty())
    return out + "No finished candidate has both an INT8 accuracy and a latency.\n";
  std::vector<std::string> head{"model", "group", "INT8 acc (%)", "latency (ms)", "reward"};
  if (has_baselines) head.push_back("beyond baselines' front");
  out += row(head) + rule(head.size());
  for (size_t i : d.front) {
    const ReportModel& m = d.models[i];
    std::vector<std::string> cells{m.label, m.group, format_metric(m.int8_acc, 2), latency(m),
                                   format_metric(m.reward, 4)};
    if (has_baselines) cells.push_back(beyond_mark(m));
    out += row(cells);
  }
  if (has_baselines) out += markdown_beyond_lines(d, found, search);
  return out;
}

// Whether the derived genotype is a finding, and the margin of each derived edge.
std::string markdown_evidence(const ReportData& d) {
  if (!d.cell_evidence) return "";
  const DerivationEvidence& ev = *d.cell_evidence;
  std::string out = "\n## Cell search: derived genotype against the seed-to-seed spread\n\n**" +
                    md(describe_derivation(ev)) + "**\n\n" +
                    row({"node", "input", "op", "runner-up", "margin", "decided"}) + rule(6);
  for (const auto& e : ev.edges) {
    out += row({std::to_string(e.node), std::to_string(e.input), e.op,
                e.runner_up.empty() ? "-" : e.runner_up, format_number(e.margin, 3),
                e.decided ? "yes" : "no"});
  }
  return out;
}

// The strongest op per edge of the last epoch of each cell search stage ("" without weights).
std::string markdown_cell_table(const ReportData& d) {
  if (d.arch_weights.empty()) return "";
  std::string out = "\n## Cell search: strongest op per edge (last epoch of each stage)\n\n" +
                    row({"stage", "epoch", "edge", "op", "weight"}) + rule(5);
  for (const auto& stage : d.arch_weights) {
    if (stage.epochs.empty()) continue;
    const EpochWeights& last = stage.epochs.back();
    for (const auto& edge : last.edges) {
      const size_t k = static_cast<size_t>(std::max_element(edge.probs.begin(), edge.probs.end()) -
                                           edge.probs.begin());
      out += row({std::to_string(stage.stage), std::to_string(last.epoch), edge.name, edge.ops[k],
                  format_number(edge.probs[k], 3)});
    }
  }
  return out + markdown_evidence(d);
}

std::string table(const TextTable& t) {
  if (t.empty()) return "";
  std::string out = row(t.front()) + rule(t.front().size());
  for (size_t i = 1; i < t.size(); ++i) out += row(t[i]);
  return out;
}

std::string markdown_study(const ReportData& d) {
  const ReportStudy& st = *d.study;
  std::ostringstream out;
  out << "# frostnas study: experiment " << d.experiment.id << " " << md(st.config.name) << "\n\n"
      << md(to_string(st.config.kind)) << " runs, " << st.config.variants.size() << " variants x "
      << st.config.seeds.size() << " seeds: " << st.analysis.runs_done << " done, "
      << st.analysis.runs_failed << " failed, " << st.analysis.runs_pending << " pending ("
      << md(d.db_path) << ", status " << to_string(d.experiment.status) << ").\n";
  for (const MetricSummary& m : st.analysis.per_metric)
    out << "\n## " << md(m.metric) << "\n\n" << table(study_variant_table(st.config, m));
  out << "\n## Comparisons (Holm over " << st.analysis.comparisons.size() << " tests)\n\n";
  out << (st.analysis.comparisons.empty() ? "None declared.\n"
                                          : table(study_test_table(st.analysis)));
  const TextTable agreement = study_agreement_table(st.analysis);
  if (!agreement.empty()) out << "\n## Op ranking across seeds\n\n" << table(agreement);
  return out.str();
}

}  // namespace

std::string render_markdown_report(const ReportData& d) {
  if (d.study) return markdown_study(d);
  const auto search = d.group(kSearchGroup);
  const auto found = d.group(kFoundGroup);
  const auto baselines = d.group(kBaselineGroup);
  const bool has_baselines = !baselines.empty();
  std::ostringstream out;
  out << markdown_summary(d, search);
  out << "\n## Top architectures\n\n" << markdown_top_table(d);
  if (!found.empty()) {
    out << "\n## Retrained found networks\n\n" << markdown_group_table(d, found, has_baselines);
  }
  out << "\n## Baselines\n\n";
  if (!has_baselines) {
    out << "No baselines.\n";
  } else {
    out << markdown_group_table(d, baselines, false);
  }
  out << markdown_pareto_section(d, search, found, has_baselines);
  out << markdown_cell_table(d);
  if (!d.stages.empty()) {
    out << "\n## Pipeline stages\n\n" << row({"stage", "status", "updated"}) << rule(3);
    for (const auto& s : d.stages) out << row({s.name, to_string(s.status), s.updated_at});
  }
  return out.str();
}

}  // namespace frostnas
