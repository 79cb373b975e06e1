// How far cell searches moved their architecture weights, compared between two
// configurations paired by seed: per stage, the mean over edges of the strongest op's weight
// minus uniform (and minus the runner-up) at the stage's last epoch, the paired difference
// with its 95 % t interval, the paired t test, the exact sign-flip test and Holm's
// adjustment over the stages; then, per edge of the first stage, how many seeds agree on the
// strongest op; and per op of the first stage its mean weight in both configurations.
//
//   build/bench/cell_margin_study --before a1.sqlite a2.sqlite ... --after b1.sqlite b2.sqlite ...
//
// The i-th database of each list must hold the run of the i-th seed (experiment 1 each).
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "search/cell/cell_search.h"
#include "search/cell/derivation.h"
#include "search/store/store.h"
#include "search/study/paired_stats.h"

using namespace frostnas;
namespace po = boost::program_options;

namespace {

struct StageMeans {
  double over_uniform = 0;
  double over_runner_up = 0;
};

StageMeans stage_means(const ArchWeights& w) {
  StageMeans m;
  const auto margins = edge_margins(w);
  for (const auto& e : margins) {
    m.over_uniform += e.over_uniform / static_cast<double>(margins.size());
    m.over_runner_up += e.over_runner_up / static_cast<double>(margins.size());
  }
  return m;
}

/// [seed][stage]
std::vector<std::vector<ArchWeights>> load_arm(const std::vector<std::string>& dbs) {
  std::vector<std::vector<ArchWeights>> out;
  for (const auto& db : dbs) out.push_back(stored_stage_weights(Store(db), 1));
  return out;
}

void print_comparisons(const std::vector<std::vector<ArchWeights>>& before,
                       const std::vector<std::vector<ArchWeights>>& after) {
  const size_t stages = before.front().size();
  std::vector<PairedComparison> comparisons;
  for (size_t s = 0; s < stages; ++s) {
    std::vector<double> a, b, ar, br;
    for (size_t i = 0; i < before.size(); ++i) {
      a.push_back(stage_means(before[i][s]).over_uniform);
      b.push_back(stage_means(after[i][s]).over_uniform);
      ar.push_back(stage_means(before[i][s]).over_runner_up);
      br.push_back(stage_means(after[i][s]).over_runner_up);
    }
    const SampleSummary sa = summarize(a), sb = summarize(b);
    const SampleSummary ra = summarize(ar), rb = summarize(br);
    std::printf("stage %zu: margin over uniform  before %.4f +- %.4f  after %.4f +- %.4f\n", s + 1,
                sa.mean, sa.sd, sb.mean, sb.sd);
    std::printf("         margin over runner-up before %.4f +- %.4f  after %.4f +- %.4f\n", ra.mean,
                ra.sd, rb.mean, rb.sd);
    comparisons.push_back(compare_paired(a, b));
  }
  std::vector<double> p;
  for (const auto& c : comparisons) p.push_back(c.t_p);
  const std::vector<double> holm = holm_adjust(p);
  for (size_t s = 0; s < stages; ++s) {
    const PairedComparison& c = comparisons[s];
    std::printf(
        "stage %zu: after - before %+.4f (95 %% CI %+.4f..%+.4f), t %.2f, p %.3g, Holm p %.3g, "
        "sign-flip p %.3g, n %lld: %s\n",
        s + 1, c.mean_diff, c.ci_low, c.ci_high, c.t, c.t_p, holm[s], c.sign_flip_p,
        static_cast<long long>(c.n),
        holm[s] < 0.05 && c.ci_low > 0 ? "above 0" : "not shown above 0");
  }
}

/// Mean weight of `op` over the edges of `w` that offer it (NaN when none does).
double mean_op_weight(const ArchWeights& w, const std::string& op) {
  double sum = 0;
  int n = 0;
  for (size_t e = 0; e < w.ops.size(); ++e) {
    for (size_t k = 0; k < w.ops[e].size(); ++k) {
      if (w.ops[e][k] != op) continue;
      sum += w.weights[e][k];
      ++n;
    }
  }
  return n ? sum / n : NAN;
}

/// Per op of the first stage, its mean weight at the stage's end in both arms and the paired
/// difference.
void print_op_weights(const std::vector<std::vector<ArchWeights>>& before,
                      const std::vector<std::vector<ArchWeights>>& after) {
  for (const auto& op : before.front().front().ops.front()) {
    std::vector<double> a, b;
    for (size_t i = 0; i < before.size(); ++i) {
      a.push_back(mean_op_weight(before[i].front(), op));
      b.push_back(mean_op_weight(after[i].front(), op));
    }
    const PairedComparison c = compare_paired(a, b);
    std::printf(
        "stage 1 %-13s before %.4f after %.4f  difference %+.4f (95 %% CI %+.4f..%+.4f), "
        "sign-flip p %.3g\n",
        op.c_str(), summarize(a).mean, summarize(b).mean, c.mean_diff, c.ci_low, c.ci_high,
        c.sign_flip_p);
  }
}

void print_agreement(const char* arm, const std::vector<std::vector<ArchWeights>>& runs) {
  const auto slots = cell_edge_slots(runs.front().front().nodes);
  std::printf("%s, stage 1: seeds agreeing with the most common strongest op per edge:", arm);
  for (size_t e = 0; e < slots.size(); ++e) {
    std::map<std::string, int> votes;
    for (const auto& r : runs) ++votes[edge_margins(r.front())[e].top_op];
    std::string best;
    int most = 0;
    for (const auto& [op, n] : votes) {
      if (n > most) {
        most = n;
        best = op;
      }
    }
    std::printf(" %s %s %d/%zu;", to_string(slots[e]).c_str(), best.c_str(), most, runs.size());
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("help", "show this help")(
      "before", po::value<std::vector<std::string>>()->multitoken()->required(),
      "databases of the first configuration, one per seed")(
      "after", po::value<std::vector<std::string>>()->multitoken()->required(),
      "databases of the second configuration, in the same seed order");
  po::variables_map vm;
  if (!bench::parse_args(argc, argv, options, vm)) return 0;
  const auto before = load_arm(vm["before"].as<std::vector<std::string>>());
  const auto after = load_arm(vm["after"].as<std::vector<std::string>>());
  if (before.size() != after.size() || before.size() < 2) {
    std::fprintf(stderr, "cell_margin_study: --before and --after need the same number (>= 2)\n");
    return 2;
  }
  print_comparisons(before, after);
  print_op_weights(before, after);
  print_agreement("before", before);
  print_agreement("after", after);
  return 0;
}
