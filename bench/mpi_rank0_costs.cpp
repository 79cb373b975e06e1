// What rank 0 of an MPI search spends per candidate, none of it training: the
// SQLite writes (candidate row, running mark, result + strategy state in one
// transaction), the strategy's batch proposal and update, the latency lookup in a
// table, and the sizes of the messages it sends and receives.
//
//   build/bench/mpi_rank0_costs [--space experiments/spaces/proxy.json]
//       [--batches 8,64,512] [--rounds 3]
//
// The latency table is filled with constant fake entries (the lookup costs the
// same whatever the numbers); the store is a fresh file in the temp directory.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "controllers/strategy.h"
#include "search/driver/worker_protocol.h"
#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/store/store.h"

using namespace frostnas;
namespace po = boost::program_options;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class ConstantMeasurer : public LutMeasurer {
 public:
  std::vector<ItemTiming> measure(const std::vector<LutItem>& items) override {
    return std::vector<ItemTiming>(items.size(), {{0.1, 0.01, 3}, {0.2, 0.02, 3}});
  }
};

/// Per-candidate costs of one batch size.
struct Costs {
  double strategy_ms = 0;  ///< propose + observe, per candidate
  double state_ms = 0;     ///< strategy state() to JSON, per batch
  double sqlite_ms = 0;    ///< add + mark running + commit, per candidate
  double latency_ms = 0;   ///< one table prediction
  size_t task_bytes = 0;
  size_t result_bytes = 0;
  size_t state_bytes = 0;
};

Costs measure(const SearchConfig& config, int64_t k, Store& store,
              const TableLatencyModel& latency) {
  Costs c;
  ExperimentRecord e;
  e.kind = "search";
  e.name = "bench";
  const int64_t id = store.create_experiment(e).id;
  auto strategy = make_strategy("rl", config.space, 1);
  int64_t step = 0;
  for (int round = 0; round < 3; ++round) {
    auto t = Clock::now();
    const std::vector<Choices> batch = strategy->propose(k);
    std::vector<double> rewards(batch.size(), 0.0);
    for (size_t i = 0; i < batch.size(); ++i) rewards[i] = 0.5 + 0.01 * static_cast<double>(i % 7);
    strategy->observe(batch, rewards);
    c.strategy_ms += ms_since(t) / static_cast<double>(k) / 3.0;
    t = Clock::now();
    const nlohmann::json state = strategy->state();
    c.state_ms += ms_since(t) / 3.0;
    c.state_bytes = state.dump().size();

    std::vector<NetSpec> nets;
    for (const Choices& choices : batch) nets.push_back(decode(config.space, choices));
    t = Clock::now();
    for (const NetSpec& net : nets) latency.predict_ms(net);
    c.latency_ms += ms_since(t) / static_cast<double>(k) / 3.0;

    t = Clock::now();
    for (size_t i = 0; i < nets.size(); ++i) {
      const std::string hash = arch_hash(nets[i]) + std::to_string(round);
      const CandidateRecord cand = store.add_candidate(id, to_json(nets[i]), hash, 1.0);
      store.mark_running(cand.id, 1);
      CandidateResult r;
      r.candidate_id = cand.id;
      r.int8_acc = 80.0;
      r.reward = rewards[i];
      if (i + 1 < nets.size()) {
        store.finish_candidate(r);
      } else {
        step += k;
        store.commit_result(r, StrategyState{id, step, state, "", ""});
      }
      if (i == 0 && round == 0) {
        c.task_bytes =
            encode(TaskMessage{cand.id, cand.seq, 1, to_json(nets[i]), 1, to_json(config.train)})
                .size();
        ResultMessage result;
        result.candidate_id = cand.id;
        result.evaluation.fp32_acc = result.evaluation.qat_acc = result.evaluation.int8_acc = 80.0;
        result.evaluation.train_seconds = 12.5;
        c.result_bytes = encode(result).size();
      }
    }
    c.sqlite_ms += ms_since(t) / static_cast<double>(k) / 3.0;
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("mpi_rank0_costs");
  options.add_options()("help", "this help")(
      "space", po::value<std::string>()->default_value("experiments/spaces/proxy.json"),
      "search space")("batches", po::value<std::string>()->default_value("8,64,512"),
                      "batch sizes (comma-separated)");
  po::variables_map vm;
  if (!bench::parse_args(argc, argv, options, vm)) return 0;
  torch::set_num_threads(1);
  SearchConfig config;
  config.space = load_search_space(vm["space"].as<std::string>());

  const auto dir = std::filesystem::temp_directory_path() / "frostnas_rank0_costs";
  std::filesystem::remove_all(dir);
  Store store((dir / "bench.sqlite").string());
  Fingerprint fp{0, "bench", 1, "onednn", 1, "bench", "constant fake entries"};
  ConstantMeasurer measurer;
  LutBuildOptions lut;
  lut.calibration_networks = 0;
  const LutBuildReport report =
      build_latency_table(store, fp, config.space, measurer, {}, lut, nullptr);
  auto table =
      std::make_shared<const LatencyTable>(load_latency_table(store, report.fingerprint_id));
  const TableLatencyModel latency(table, Precision::kInt8);

  std::cout << "load average: " << bench::load_average() << "\n"
            << "rank 0 per candidate (RL strategy, 1 thread), space "
            << vm["space"].as<std::string>() << "\n";
  std::printf("%6s %12s %12s %12s %12s %10s %10s %12s\n", "batch", "strategy_ms", "sqlite_ms",
              "latency_ms", "state_ms/b", "task_B", "result_B", "state_B");
  std::stringstream batches(vm["batches"].as<std::string>());
  for (std::string item; std::getline(batches, item, ',');) {
    const int64_t k = std::stoll(item);
    const Costs c = measure(config, k, store, latency);
    std::printf("%6lld %12.3f %12.3f %12.4f %12.3f %10zu %10zu %12zu\n", static_cast<long long>(k),
                c.strategy_ms, c.sqlite_ms, c.latency_ms, c.state_ms, c.task_bytes, c.result_bytes,
                c.state_bytes);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
