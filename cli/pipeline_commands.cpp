// `frostnas pipeline`: the FrostNet reproduction at proxy scale.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/subprocess.h"
#include "cli/workers_option.h"
#include "common/error.h"
#include "experiments/pipeline/final_training.h"
#include "experiments/pipeline/pipeline.h"
#include "search/store/store.h"

namespace frostnas::cli {
namespace {

/// Progress lines, and the saved models timed by `frostnas lut time` in a fresh process.
PipelineHooks pipeline_hooks(const PipelineConfig& config, bool quiet) {
  PipelineHooks hooks;
  hooks.latency_build = latency_progress(quiet);
  if (!quiet) {
    hooks.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    hooks.train = train_progress(config.retrain.train.epochs, config.retrain.train.batch_size,
                                 /*quiet=*/false);
  }
  hooks.log = [](const std::string& line) { std::cerr << line << "\n"; };
  hooks.time_saved_model = [](const std::string& dir, const std::string& space_json,
                              const MeasureConfig& m, uint64_t seed) {
    const std::string out = run_capture(
        {self_executable(), "lut", "time", "--model", dir, "--space", space_json, "--threads",
         std::to_string(m.threads), "--rounds", std::to_string(m.rounds), "--warmup",
         std::to_string(m.warmup), "--seed", std::to_string(seed), "--json"});
    NetTiming t;
    try {
      const auto j = nlohmann::json::parse(out).at("models").at(0);
      t.int8.median_ms = j.at("int8_ms").get<double>();
      t.int8.spread_ms = j.at("int8_spread_ms").get<double>();
      t.fp32.median_ms = j.at("fp32_ms").get<double>();
      t.fp32.spread_ms = j.at("fp32_spread_ms").get<double>();
      t.int8.samples = t.fp32.samples = m.rounds;
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("frostnas lut time --model " + dir + ": bad output (" + e.what() +
                               ")");
    }
    return t;
  };
  return hooks;
}

/// The configuration of a run: --config (with --quick), else the stored one of --resume
/// (`store` opened for it).
PipelineConfig resolve_pipeline_config(const po::variables_map& vm, std::optional<Store>& store,
                                       std::optional<int64_t> resume) {
  const std::optional<WeightQuant> weights = weight_quant_option(vm);
  if (!resume) {
    PipelineConfig config =
        load_pipeline_config(vm["config"].as<std::string>(), vm["quick"].as<bool>());
    if (weights) set_weight_quant(config, *weights);
    return config;
  }
  if (!store) store.emplace(vm["db"].as<std::string>());
  const ExperimentRecord e = store->get_experiment(*resume);
  if (e.kind != "pipeline")
    throw InputError("--resume " + std::to_string(*resume) + ": experiment is a " + e.kind +
                     ", not a pipeline (see frostnas runs)");
  return pipeline_config_from_json(e.config, store->path() + ": experiment " + std::to_string(e.id),
                                   ".", false);
}

std::string interrupted_line(const PipelineSummary& s, const Store& store) {
  return (s.message.empty() ? std::string("interrupted")
                            : s.message + "; the database is consistent") +
         ": resume with frostnas pipeline --db " + store.path() + " --resume " +
         std::to_string(s.experiment_id);
}

void print_pipeline_summary(const PipelineSummary& s, const Store& store) {
  std::printf("pipeline experiment %lld done in %.0f s (database %s)\n",
              static_cast<long long>(s.experiment_id), s.seconds, store.path().c_str());
  if (s.cell_evidence)
    std::printf("found cell: %s\n", describe_derivation(*s.cell_evidence).c_str());
  std::printf("%-10s %-22s %8s %8s %8s %10s %10s\n", "group", "model", "int8 %", "fp32 %", "drop",
              "int8 ms", "fp32 ms");
  for (const auto& m : s.models) {
    std::printf("%-10s %-22s %8.2f %8.2f %8.2f %10.3f %10.3f\n", m.group.c_str(), m.name.c_str(),
                m.int8_acc, m.fp32_acc, m.fp32_acc - m.int8_acc, m.int8_ms, m.fp32_ms);
  }
  std::printf("report: frostnas report --db %s --experiment %lld --out report.html\n",
              store.path().c_str(), static_cast<long long>(s.experiment_id));
}

#ifdef FROSTNAS_WITH_MPI
/// Rank 0 runs the stages and owns the store; ranks 1..N-1 train the search's candidates
/// and the final models (experiments/pipeline/final_training.h).
int pipeline_mpi(const po::variables_map& vm, std::optional<int64_t> resume) {
  MpiWorld world;
  if (world.rank() > 0) {
    std::optional<std::string> config_path;
    if (vm.count("config")) config_path = vm["config"].as<std::string>();
    PipelineWorkerJobs jobs(config_path, vm["quick"].as<bool>(), weight_quant_option(vm));
    serve_worker(world, jobs);
    return 0;
  }
  // mpirun ends its job with SIGTERM (Ctrl-C, or a rank that died).
  InterruptGuard interrupt(/*also_terminate=*/true);
  std::optional<Store> store;
  PipelineConfig config;
  auto dispatcher = greet_workers(
      world,
      [&] {
        config = resolve_pipeline_config(vm, store, resume);
        return pipeline_worker_greeting(config);
      },
      vm["worker-deadline"].as<double>(), interrupt.flag());
  if (!store) store.emplace(vm["db"].as<std::string>());
  PipelineHooks hooks = pipeline_hooks(config, vm["quiet"].as<bool>());
  hooks.stop = interrupt.flag();
  hooks.workers = dispatcher.get();
  PipelineSummary s;
  run_on_rank0(world, *dispatcher, [&] { s = run_pipeline(config, *store, resume, hooks); });
  if (!s.interrupted) {
    print_pipeline_summary(s, *store);
    return 0;
  }
  end_interrupted_run(world, *dispatcher, interrupted_line(s, *store), [&] { store.reset(); });
}
#endif

int pipeline(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(),
                        "pipeline configuration (frostnas.pipeline/1 JSON)")(
      "db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")(
      "resume", po::value<int64_t>(),
      "continue pipeline experiment ID (with the configuration it was started with)")(
      "quick", po::bool_switch()->default_value(false),
      "apply the configuration's \"quick\" overrides (about 20 minutes here)")(
      "quiet", po::bool_switch()->default_value(false), "plain log lines instead of progress bars");
  add_worker_options(options);
  add_weight_quant_option(options);
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const std::optional<WeightQuant> weights = weight_quant_option(vm);
  if (!vm.count("resume") && !vm.count("config"))
    throw InputError("missing --config FILE (see --help)");
  if (vm.count("resume") && vm.count("config"))
    throw InputError(
        "--resume: give either --config or --resume (a pipeline resumes with the "
        "configuration it was started with)");
  if (weights && vm.count("resume"))
    throw InputError("--weight-quant: give it with --config (a resumed pipeline keeps its own)");
  [[maybe_unused]] const bool mpi = use_mpi_workers(vm);
  std::optional<int64_t> resume;
  if (vm.count("resume")) resume = vm["resume"].as<int64_t>();
#ifdef FROSTNAS_WITH_MPI
  if (mpi) return pipeline_mpi(vm, resume);
#endif
  std::optional<Store> store;
  std::optional<PipelineConfig> given;
  if (!resume) given = resolve_pipeline_config(vm, store, resume);
  store.emplace(vm["db"].as<std::string>());
  const PipelineConfig config = given ? *given : resolve_pipeline_config(vm, store, resume);
  PipelineHooks hooks = pipeline_hooks(config, vm["quiet"].as<bool>());
  InterruptGuard interrupt;
  hooks.stop = interrupt.flag();
  const PipelineSummary s = run_pipeline(config, *store, resume, hooks);
  if (s.interrupted) throw InputError(interrupted_line(s, *store));
  print_pipeline_summary(s, *store);
  return 0;
}

const RegisterCommand kPipeline(
    {"pipeline", "frostnas pipeline --config FILE [--quick] [--db FILE] | --resume ID",
     "Reproduce FrostNet's discovery at proxy scale: table, cell search, RL search, retraining, "
     "baselines",
     pipeline});

}  // namespace
}  // namespace frostnas::cli
