// Strategies on a cheap synthetic objective over a search space (no training):
// samples needed to reach the top 1% of the objective, averaged over seeds.
//
//   build/bench/strategy_bench [--space experiments/spaces/frostnet.json]
//       [--seeds 10] [--budget 2000] [--db runs/lut224.sqlite]
//
// The objective is the MnasNet reward ACC * (LAT / T)^-0.07 where ACC is a fixed,
// seeded function of the choices (per-decision effects plus interactions of
// neighbouring decisions, so that the landscape is not separable) and LAT the
// INT8 latency predicted by the measured lookup table of this machine (--db, built
// with `frostnas lut build --space SPACE --db FILE --threads 1`), or the MAC count
// in millions as a stand-in when no --db is given.
// The top-1% threshold is the 99th percentile of 20,000 uniform samples.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "common/random.h"
#include "controllers/reward.h"
#include "controllers/strategy.h"
#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "space/search_space.h"

using namespace frostnas;
namespace po = boost::program_options;

namespace {

class SyntheticObjective {
 public:
  SyntheticObjective(const SearchSpace& space, uint64_t seed) : space_(space) {
    std::mt19937_64 rng(seed);
    const auto ds = decisions(space);
    for (const auto& d : ds) {
      std::vector<double> w;
      for (size_t o = 0; o < d.options.size(); ++o) w.push_back(0.02 * (uniform_real(rng) - 0.5));
      unary_.push_back(w);
      std::vector<double> pair;
      for (size_t o = 0; o < d.options.size() * 3; ++o)
        pair.push_back(0.02 * (uniform_real(rng) - 0.5));
      pair_.push_back(pair);
    }
  }

  double accuracy(const Choices& c) const {
    double acc = 0.7;
    for (size_t d = 0; d < c.size(); ++d) {
      acc += unary_[d][c[d]];
      if (d + 1 < c.size()) acc += pair_[d][c[d] * 3 + (c[d + 1] % 3)];
    }
    return acc;
  }

 private:
  SearchSpace space_;
  std::vector<std::vector<double>> unary_;
  std::vector<std::vector<double>> pair_;
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("strategy_bench");
  options.add_options()(
      "space", po::value<std::string>()->default_value("experiments/spaces/frostnet.json"),
      "search space")("seeds", po::value<int>()->default_value(10), "seeds per strategy")(
      "budget", po::value<int>()->default_value(2000), "samples per run at most")(
      "db", po::value<std::string>(), "database with the space's latency table (onednn, 1 thread)")(
      "help", "help");
  po::variables_map vm;
  if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
  const SearchSpace space = load_search_space(vm["space"].as<std::string>());
  const int seeds = vm["seeds"].as<int>();
  const int budget = vm["budget"].as<int>();
  const SyntheticObjective objective(space, 12345);
  std::function<double(const Choices&)> latency = [&](const Choices& c) {
    return static_cast<double>(resolve(decode(space, c)).macs()) / 1e6;
  };
  std::string latency_name = "MACs (M) stand-in";
  std::shared_ptr<TableLatencyModel> model;
  if (vm.count("db")) {
    const MachineTable machine =
        open_machine_table(vm["db"].as<std::string>(), QuantEngine::kOneDNN, 1);
    model = std::make_shared<TableLatencyModel>(machine.table, Precision::kInt8);
    latency = [&](const Choices& c) { return model->predict_ms(decode(space, c)); };
    latency_name = "INT8 lookup table (ms)";
  }

  // Target T: the median latency of uniform samples; threshold: 99th percentile reward.
  std::mt19937_64 rng(777);
  std::vector<Choices> pool;
  std::vector<double> lats;
  for (int i = 0; i < 20000; ++i) {
    pool.push_back(sample_choices(space, rng));
    lats.push_back(latency(pool.back()));
  }
  std::vector<double> sorted = lats;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const RewardOptions reward_options = RewardOptions::soft(sorted[sorted.size() / 2]);
  auto reward = [&](const Choices& c, double lat) {
    return mnas_reward(objective.accuracy(c), lat, reward_options);
  };
  std::vector<double> rewards;
  for (size_t i = 0; i < pool.size(); ++i) rewards.push_back(reward(pool[i], lats[i]));
  std::sort(rewards.begin(), rewards.end());
  const double threshold = rewards[rewards.size() * 99 / 100];
  std::printf("space %s, %zu decisions, latency: %s, T = %.3f, top-1%% threshold %.5f\n",
              space.name.c_str(), decisions(space).size(), latency_name.c_str(),
              reward_options.target_ms(), threshold);
  std::printf("%-10s %8s %8s %8s %8s %s\n", "strategy", "mean", "median", "min", "max", "reached");
  for (const auto& name : strategy_names()) {
    std::vector<int> needed;
    int reached = 0;
    for (int s = 0; s < seeds; ++s) {
      auto strategy = make_strategy(name, space, 1000 + s);
      int n = budget;
      for (int i = 1; i <= budget; ++i) {
        const Choices c = strategy->propose();
        const double r = reward(c, latency(c));
        strategy->observe(c, r);
        if (r >= threshold) {
          n = i;
          ++reached;
          break;
        }
      }
      needed.push_back(n);
    }
    std::sort(needed.begin(), needed.end());
    const double mean = std::accumulate(needed.begin(), needed.end(), 0.0) / needed.size();
    std::printf("%-10s %8.1f %8d %8d %8d %d/%d\n", name.c_str(), mean, needed[needed.size() / 2],
                needed.front(), needed.back(), reached, seeds);
  }
  return 0;
}
