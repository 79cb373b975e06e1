// The margin over the runner-up that makes an edge of a cell search "decided", from the
// seed-to-seed spread of seeded runs of one configuration, and a check of it on the same runs.
//
//   build/bench/cell_decided_threshold --dbs s1.sqlite s2.sqlite ... [--z 1.96]
//
// One database per seed (experiment 1 each, a finished cell search). Per stage, the op
// weights at the stage's last epoch are grouped by (edge, op) over the seeds that offer the
// op on that edge (pruning differs between seeds); the pooled seed-to-seed standard
// deviation is sqrt(sum of squared deviations / sum of (n - 1)) over the groups. Rule: an edge
// is decided when its strongest op leads the runner-up by at least z * sqrt(2) * sd: if the
// two ops were equally good in expectation, their weights' difference in one run would have
// sd sqrt(2) * sd, and would exceed the threshold with probability 2.5 %.
//
// Validation (leave one seed out, so a run is not judged by a spread it helped to measure):
// for every run, stage and edge, whether the margin clears the threshold of the other seeds,
// and the share of the other seeds whose strongest op on that edge is the same; then, for the
// edges of each run's derived genotype, the share of the other seeds whose derived genotype
// holds the same edge (node, input, op).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench/bench_common.h"
#include "search/cell/cell_search.h"
#include "search/cell/derivation.h"
#include "search/store/store.h"

using namespace frostnas;
namespace po = boost::program_options;

namespace {

struct SeedRun {
  std::vector<ArchWeights> stages;  ///< last epoch of each stage
  Genotype genotype;
};

SeedRun load_run(const std::string& db) {
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database");
  Store store(db);
  SeedRun run;
  run.stages = stored_stage_weights(store, 1);
  const auto derive = store.get_stage(1, "derive");
  if (run.stages.empty() || !derive)
    throw InputError(db + ": experiment 1 is not a finished cell search");
  run.genotype = genotype_from_json(derive->result.at("genotype"), db, "$.genotype");
  return run;
}

/// Pooled seed-to-seed sd of the op weights of `stage`, over the runs not equal to `skip`.
double pooled_sd(const std::vector<SeedRun>& runs, size_t stage, size_t skip) {
  std::map<std::pair<size_t, std::string>, std::vector<double>> groups;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (i == skip) continue;
    const ArchWeights& w = runs[i].stages[stage];
    for (size_t e = 0; e < w.ops.size(); ++e)
      for (size_t k = 0; k < w.ops[e].size(); ++k)
        groups[{e, w.ops[e][k]}].push_back(w.weights[e][k]);
  }
  double ss = 0, df = 0;
  for (const auto& [key, v] : groups) {
    if (v.size() < 2) continue;
    double mean = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    for (double x : v) ss += (x - mean) * (x - mean);
    df += static_cast<double>(v.size() - 1);
  }
  return df > 0 ? std::sqrt(ss / df) : NAN;
}

struct Tally {
  int64_t edges = 0;
  double agree = 0;  ///< sum over edges of the share of other seeds that agree
  void add(double share) {
    ++edges;
    agree += share;
  }
  std::string text() const {
    char buf[64];
    if (edges == 0) return "   0 edges      -";
    std::snprintf(buf, sizeof buf, "%4lld edges  %5.1f %%", static_cast<long long>(edges),
                  100.0 * agree / static_cast<double>(edges));
    return buf;
  }
};

/// Per stage: pooled sd and threshold over all seeds; then the leave-one-out check of the
/// strongest op per edge.
void print_stage_table(const std::vector<SeedRun>& runs, double z) {
  const size_t n = runs.size();
  std::printf("%-6s %4s %10s %10s   %-26s %-26s %s\n", "stage", "K", "pooled sd", "threshold",
              "decided: agreement", "undecided: agreement", "chance 1/K");
  for (size_t s = 0; s < runs.front().stages.size(); ++s) {
    const double sd = pooled_sd(runs, s, n);
    Tally decided, undecided;
    for (size_t i = 0; i < n; ++i) {
      const double threshold = z * std::sqrt(2.0) * pooled_sd(runs, s, i);
      const auto mine = edge_margins(runs[i].stages[s]);
      for (size_t e = 0; e < mine.size(); ++e) {
        int agree = 0;
        for (size_t j = 0; j < n; ++j)
          if (j != i && edge_margins(runs[j].stages[s])[e].top_op == mine[e].top_op) ++agree;
        const double share = agree / static_cast<double>(n - 1);
        (mine[e].over_runner_up >= threshold ? decided : undecided).add(share);
      }
    }
    const size_t k = runs.front().stages[s].ops.front().size();
    std::printf("%-6zu %4zu %10.4f %10.4f   %-26s %-26s %5.1f %%\n", s + 1, k, sd,
                z * std::sqrt(2.0) * sd, decided.text().c_str(), undecided.text().c_str(),
                100.0 / static_cast<double>(k));
  }
}

using EdgeKey = std::tuple<int64_t, int64_t, std::string>;

std::set<EdgeKey> derived_edges(const Genotype& g) {
  std::set<EdgeKey> out;
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (const auto& e : g.nodes[n]) out.insert({static_cast<int64_t>(n + 1), e.input, e.op});
  return out;
}

/// The derived genotypes' edges, judged with assess_derivation at the last stage's
/// leave-one-out threshold, against how many other seeds derived the same edge.
void print_derived_table(const std::vector<SeedRun>& runs, double z) {
  const size_t n = runs.size();
  const size_t last = runs.front().stages.size() - 1;
  Tally decided, undecided;
  int64_t whole_decided = 0;
  for (size_t i = 0; i < n; ++i) {
    const double threshold = z * std::sqrt(2.0) * pooled_sd(runs, last, i);
    const DerivationEvidence ev =
        assess_derivation(runs[i].stages[last], runs[i].genotype, threshold);
    whole_decided += ev.decided() ? 1 : 0;
    for (const auto& d : ev.edges) {
      int agree = 0;
      for (size_t j = 0; j < n; ++j)
        if (j != i && derived_edges(runs[j].genotype).count({d.node, d.input, d.op})) ++agree;
      (d.decided ? decided : undecided).add(agree / static_cast<double>(n - 1));
    }
  }
  std::printf(
      "derived edges (last stage): decided %s; undecided %s; whole genotype decided in "
      "%lld of %zu runs\n",
      decided.text().c_str(), undecided.text().c_str(), static_cast<long long>(whole_decided), n);
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("help", "show this help")(
      "dbs", po::value<std::vector<std::string>>()->multitoken()->required(),
      "one finished cell search database per seed (experiment 1 each)")(
      "z", po::value<double>()->default_value(1.96), "the rule's z");
  po::variables_map vm;
  if (!bench::parse_args(argc, argv, options, vm)) return 0;
  std::vector<SeedRun> runs;
  try {
    for (const auto& db : vm["dbs"].as<std::vector<std::string>>()) runs.push_back(load_run(db));
  } catch (const InputError& e) {
    std::fprintf(stderr, "cell_decided_threshold: %s\n", e.what());
    return 2;
  }
  if (runs.size() < 3) {
    std::fprintf(stderr, "cell_decided_threshold: --dbs needs at least 3 databases\n");
    return 2;
  }
  const double z = vm["z"].as<double>();
  std::printf(
      "%zu seeds, z %.2f: threshold = z * sqrt(2) * pooled sd; agreement = share of the "
      "other seeds with the same strongest op on the edge (leave-one-out threshold)\n",
      runs.size(), z);
  print_stage_table(runs, z);
  print_derived_table(runs, z);
  return 0;
}
