// Paired comparisons of a stored study that name a metric per side, so that one variant's
// measure can be set against another variant's different measure (for example the INT8
// accuracy of a QAT arm against the float accuracy of a float arm of the same seed), with
// the same statistics as `frostnas study`: the paired difference b - a with its 95 % t
// interval, the paired t test, the exact sign-flip test, Holm's adjustment over every
// comparison given, and the verdict against the declared alpha and margin.
//
//   build/bench/study_cross_metric --db runs/study.sqlite --experiment 1
//       --compare plain-sgd:int8_acc,statassist-sgd:int8_acc
//       --compare float-ptq-sgd:fp32_acc,statassist-qsgd:int8_acc [--alpha 0.05 --margin 0.5]
//
// (one command line).
//
// Only seeds whose runs finished on both sides with the metric are paired.
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "search/store/store.h"
#include "search/study/paired_stats.h"

using namespace frostnas;
namespace po = boost::program_options;

namespace {

struct Side {
  std::string variant;
  std::string metric;
};

// "variant:metric" -> Side.
Side parse_side(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("--compare: expected VARIANT:METRIC, got '" + text + "'");
  return {text.substr(0, colon), text.substr(colon + 1)};
}

// seed -> value of `side` over the study's finished runs.
std::map<int64_t, double> values(const std::vector<StudyRunRecord>& runs, const Side& side) {
  std::map<int64_t, double> out;
  for (const auto& r : runs) {
    if (r.variant != side.variant || r.status != StudyRunStatus::kDone) continue;
    const auto it = r.metrics.find(side.metric);
    if (it != r.metrics.end() && it->is_number()) out[r.seed] = it->get<double>();
  }
  return out;
}

struct Row {
  std::string label;
  PairedComparison stats;
};

Row compare(const std::vector<StudyRunRecord>& runs, const std::string& spec) {
  const auto comma = spec.find(',');
  if (comma == std::string::npos)
    throw std::invalid_argument("--compare: expected A:METRIC,B:METRIC, got '" + spec + "'");
  const Side a = parse_side(spec.substr(0, comma)), b = parse_side(spec.substr(comma + 1));
  const auto va = values(runs, a), vb = values(runs, b);
  std::vector<double> xa, xb;
  for (const auto& [seed, v] : va) {
    const auto it = vb.find(seed);
    if (it == vb.end()) continue;
    xa.push_back(v);
    xb.push_back(it->second);
  }
  return {b.variant + ":" + b.metric + " - " + a.variant + ":" + a.metric, compare_paired(xa, xb)};
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("help", "this text")("db", po::value<std::string>()->required(),
                                             "experiment database")(
      "experiment", po::value<int64_t>()->required(), "the study's experiment id")(
      "compare", po::value<std::vector<std::string>>()->required(),
      "A:METRIC,B:METRIC (b - a, paired by seed); repeat for every comparison of the family")(
      "alpha", po::value<double>()->default_value(0.05), "significance level (Holm-adjusted t p)")(
      "margin", po::value<double>()->default_value(0.5), "equivalence margin, metric units");
  po::variables_map vm;
  if (!bench::parse_args(argc, argv, options, vm)) return 0;
  const std::vector<StudyRunRecord> runs =
      Store(vm["db"].as<std::string>()).list_study_runs(vm["experiment"].as<int64_t>());
  std::vector<Row> rows;
  std::vector<double> t_p, flip_p;
  for (const auto& spec : vm["compare"].as<std::vector<std::string>>()) {
    rows.push_back(compare(runs, spec));
    t_p.push_back(rows.back().stats.t_p);
    flip_p.push_back(rows.back().stats.sign_flip_p);
  }
  const auto t_holm = holm_adjust(t_p), flip_holm = holm_adjust(flip_p);
  std::printf(
      "| comparison | n | mean diff | sd | 95 %% CI | t p (Holm) | sign-flip p (Holm) | verdict "
      "|\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const PairedComparison& s = rows[i].stats;
    const Verdict v = judge(s, t_holm[i], vm["alpha"].as<double>(), vm["margin"].as<double>());
    std::printf("| %s | %lld | %+.3f | %.3f | %+.3f..%+.3f | %.3g (%.3g) | %.3g (%.3g) | %s |\n",
                rows[i].label.c_str(), static_cast<long long>(s.n), s.mean_diff, s.sd_diff,
                s.ci_low, s.ci_high, s.t_p, t_holm[i], s.sign_flip_p, flip_holm[i],
                to_string(v).c_str());
  }
  return 0;
}
