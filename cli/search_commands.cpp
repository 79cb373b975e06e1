// `frostnas search`, `frostnas runs`, `frostnas top`, `frostnas export`.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/progress_bar.h"
#include "cli/workers_option.h"
#include "common/error.h"
#include "common/json_reader.h"
#include "search/driver/latency_source.h"
#include "search/driver/search_driver.h"
#include "search/driver/worker_protocol.h"
#include "search/report/pareto.h"
#include "search/store/store.h"
#include "space/arch_report.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"
#include "trainer/train/train_model.h"

#ifdef FROSTNAS_WITH_MPI
#include "search/mpi/mpi_search.h"
#endif

namespace frostnas::cli {
namespace {

std::string opt(const std::optional<double>& v, const char* format) {
  return v ? fmt(format, *v) : std::string("-");
}

/// Status lines and the progress bar of a running search.
SearchHooks search_hooks(ProgressBar& bar, std::atomic<bool>* stop) {
  SearchHooks hooks;
  hooks.stop = stop;
  hooks.on_step = [&bar](const SearchStep& s) {
    const CandidateRecord& c = s.candidate;
    std::cerr << (bar.tty() ? "\r\033[K" : "") << "[" << s.step << "/" << s.total << "] candidate "
              << c.seq << (s.reused ? " (repeat)" : "") << " " << to_string(c.status) << " int8 "
              << opt(c.int8_acc, "%.2f%%") << " lat " << opt(c.predicted_latency_ms, "%.3f")
              << " reward " << fmt("%.4f", s.reward) << " train " << opt(c.train_seconds, "%.1fs")
              << (c.error.empty() ? "" : " error: " + c.error) << "\n";
    bar.update(s.step, {{"best", fmt("%.4f", s.best_reward)}});
  };
  return hooks;
}

ProgressBar search_bar(const SearchConfig& config, bool quiet) {
  ProgressBarOptions bar_options;
  bar_options.quiet = quiet;
  bar_options.unit = "arch";
  return ProgressBar("search", config.samples, bar_options);
}

void print_summary(const SearchConfig& config, const Store& store, const SearchSummary& summary) {
  std::cout << "experiment " << summary.experiment_id << ": " << summary.steps << "/"
            << config.samples << " proposals, " << summary.evaluated << " evaluated now, "
            << summary.reused << " repeats; database " << store.path() << "\n";
  if (!summary.best) return;
  const auto dir = std::filesystem::path(store.path()).parent_path();
  const std::string best_path =
      (dir / ("experiment-" + std::to_string(summary.experiment_id) + "-best.json")).string();
  NetSpec best = net_spec_from_json(summary.best->arch, store.path());
  save_net_spec(best, best_path);
  std::cout << "best: candidate " << summary.best->seq << ", reward "
            << fmt("%.4f", *summary.best->reward) << ", int8 "
            << opt(summary.best->int8_acc, "%.2f%%") << ", latency "
            << opt(summary.best->predicted_latency_ms, "%.3f") << "; architecture " << best_path
            << "\n";
}

std::string resume_hint(const Store& store, const SearchSummary& summary) {
  return "resume with frostnas search --db " + store.path() + " --resume " +
         std::to_string(summary.experiment_id);
}

/// The --config file with the --weight-quant override, if given.
std::optional<SearchConfig> given_config(const po::variables_map& vm) {
  const std::optional<WeightQuant> weights = weight_quant_option(vm);
  if (!vm.count("config")) {
    if (weights)
      throw InputError("--weight-quant: give it with --config (a resumed search keeps its own)");
    return std::nullopt;
  }
  SearchConfig config = load_search_config(vm["config"].as<std::string>());
  if (weights) config.train.weight_quant = *weights;
  return config;
}

/// The configuration of a run: --config, else (with --resume) the stored one.
SearchConfig resolve_config(const std::optional<SearchConfig>& given, const Store* store,
                            std::optional<int64_t> resume) {
  if (given) return *given;
  const ExperimentRecord e = store->get_experiment(*resume);
  return search_config_from_json(e.config, store->path() + ": experiment " + std::to_string(e.id),
                                 ".");
}

/// Evaluates the candidates in this process with the configuration's threads.
int search_serial(const po::variables_map& vm, const std::optional<SearchConfig>& given,
                  std::optional<int64_t> resume) {
  Store store(vm["db"].as<std::string>());
  const SearchConfig config = resolve_config(given, &store, resume);
  const bool quiet = vm["quiet"].as<bool>();
  // The table is measured on the latency's thread count; training uses its own.
  const LatencyFn latency = make_latency_fn(config, store, latency_progress(quiet));
  configure_runtime(config.train.threads);
  torch::manual_seed(config.seed);
  const DataSplits data = search_data(config);
  InterruptGuard interrupt;
  TrainingEvaluator evaluator(data, config.train, interrupt.flag());
  ProgressBar bar = search_bar(config, quiet);
  const SearchSummary summary =
      run_search(config, store, evaluator, latency, resume, search_hooks(bar, interrupt.flag()));
  bar.finish();
  print_summary(config, store, summary);
  if (summary.interrupted) throw InputError("interrupted: " + resume_hint(store, summary));
  return 0;
}

#ifdef FROSTNAS_WITH_MPI
/// Rank 0's dispatcher after the handshake with every worker; the store is opened (or
/// created) only once every worker has agreed, unless a resume needs its configuration.
std::unique_ptr<MpiDispatcher> greet_search_workers(const MpiWorld& world,
                                                    const po::variables_map& vm,
                                                    std::optional<int64_t> resume,
                                                    std::optional<Store>& store,
                                                    SearchConfig& config, std::atomic<bool>* stop) {
  const auto prepare = [&] {
    const std::optional<SearchConfig> given = given_config(vm);
    if (resume) store.emplace(vm["db"].as<std::string>());
    config = resolve_config(given, store ? &*store : nullptr, resume);
    torch::manual_seed(config.seed);  // as the workers load theirs
    return WorkerGreeting{config.to_json(), config_hash(config), data_checksum(search_data(config)),
                          to_json(config.train)};
  };
  return greet_workers(world, prepare, vm["worker-deadline"].as<double>(), stop);
}

/// Rank 0 drives the search and owns the store; ranks 1..N-1 train (search/mpi).
int search_mpi(const po::variables_map& vm, std::optional<int64_t> resume) {
  MpiWorld world;
  if (world.rank() > 0) {
    std::optional<std::string> config_path;
    if (vm.count("config")) config_path = vm["config"].as<std::string>();
    serve_search_worker(world, config_path, weight_quant_option(vm));
    return 0;
  }
  // mpirun ends its job with SIGTERM (Ctrl-C, or a rank that died).
  InterruptGuard interrupt(/*also_terminate=*/true);
  std::optional<Store> store;
  SearchConfig config;
  auto dispatcher = greet_search_workers(world, vm, resume, store, config, interrupt.flag());
  if (!store) store.emplace(vm["db"].as<std::string>());
  const bool quiet = vm["quiet"].as<bool>();
  const LatencyFn latency = make_latency_fn(config, *store, latency_progress(quiet));
  ProgressBar bar = search_bar(config, quiet);
  SearchSummary summary;
  run_on_rank0(world, *dispatcher, [&] {
    summary = run_search(config, *store, *dispatcher, latency, resume,
                         search_hooks(bar, interrupt.flag()));
  });
  bar.finish();
  print_summary(config, *store, summary);
  if (!summary.interrupted) return 0;
  end_interrupted_run(
      world, *dispatcher,
      summary.message + "; the database is consistent: " + resume_hint(*store, summary),
      [&] { store.reset(); });
}
#endif

int search(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(),
                        "search configuration (frostnas.search/1 JSON)")(
      "db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")(
      "resume", po::value<int64_t>(),
      "continue experiment ID (with the configuration it was started with)")(
      "quiet", po::bool_switch()->default_value(false), "plain log lines instead of progress bars");
  add_worker_options(options);
  add_weight_quant_option(options);
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  // Bad input is refused before the database is created or touched.
  if (!vm.count("resume") && !vm.count("config"))
    throw InputError("missing --config FILE (see --help)");
  weight_quant_option(vm);
  [[maybe_unused]] const bool mpi = use_mpi_workers(vm);
  std::optional<int64_t> resume;
  if (vm.count("resume")) resume = vm["resume"].as<int64_t>();
#ifdef FROSTNAS_WITH_MPI
  if (mpi) return search_mpi(vm, resume);
#endif
  return search_serial(vm, given_config(vm), resume);
}

int runs(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>()->default_value(kDefaultStorePath),
                        "experiment database")(
      "status", po::value<std::string>(),
      ("only experiments with this status (" + join_strings(experiment_statuses()) + ")").c_str())(
      "json", po::bool_switch()->default_value(false), "print JSON");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  std::optional<ExperimentStatus> status;
  if (vm.count("status"))
    status = parse_experiment_status(vm["status"].as<std::string>(), "--status");
  const std::string db = vm["db"].as<std::string>();
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database");
  Store store(db);
  nlohmann::json out = nlohmann::json::array();
  if (!vm["json"].as<bool>()) {
    std::printf("%4s %-12s %-20s %-12s %6s %9s  %s\n", "id", "kind", "name", "status", "cands",
                "best", "created");
  }
  for (const auto& e : store.list_experiments()) {
    if (status && e.status != *status) continue;
    const auto candidates = store.list_candidates(e.id);
    const auto best = store.top_candidates(e.id, 1);
    nlohmann::json j = to_json(e);
    j.erase("config");
    j["candidates"] = candidates.size();
    j["best_reward"] = best.empty() ? nlohmann::json() : nlohmann::json(*best.front().reward);
    out.push_back(j);
    if (!vm["json"].as<bool>()) {
      std::printf("%4lld %-12s %-20s %-12s %6zu %9s  %s\n", static_cast<long long>(e.id),
                  e.kind.c_str(), e.name.c_str(), to_string(e.status).c_str(), candidates.size(),
                  best.empty() ? "-" : fmt("%.4f", *best.front().reward).c_str(),
                  e.created_at.c_str());
    }
  }
  if (vm["json"].as<bool>()) std::cout << out.dump(2) << "\n";
  return 0;
}

int top(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>()->default_value(kDefaultStorePath),
                        "experiment database")("experiment", po::value<int64_t>(),
                                               "experiment ID (frostnas runs)")(
      "top-k,k", po::value<int64_t>()->default_value(5), "how many")(
      "json", po::bool_switch()->default_value(false), "print JSON");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  if (!vm.count("experiment")) throw InputError("missing --experiment ID (see frostnas runs)");
  const int64_t k = vm["top-k"].as<int64_t>();
  if (k < 1) throw InputError("-k: " + std::to_string(k) + " is out of range (allowed: >= 1)");
  const std::string db = vm["db"].as<std::string>();
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database");
  Store store(db);
  const int64_t id = vm["experiment"].as<int64_t>();
  store.get_experiment(id);
  const auto best = store.top_candidates(id, k);
  if (vm["json"].as<bool>()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : best) out.push_back(to_json(c));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%4s %5s %-16s %9s %8s %8s %8s %10s %10s\n", "rank", "seq", "hash", "reward", "int8",
              "qat", "fp32", "latency", "params");
  int rank = 1;
  for (const auto& c : best) {
    const NetSpec net = net_spec_from_json(c.arch, db);
    std::printf("%4d %5lld %-16s %9.4f %8s %8s %8s %10s %10s\n", rank++,
                static_cast<long long>(c.seq), c.arch_hash.c_str(), *c.reward,
                opt(c.int8_acc, "%.2f").c_str(), opt(c.qat_acc, "%.2f").c_str(),
                opt(c.fp32_acc, "%.2f").c_str(), opt(c.predicted_latency_ms, "%.3f").c_str(),
                format_count(resolve(net).params()).c_str());
  }
  return 0;
}

int export_archs(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>()->default_value(kDefaultStorePath),
                        "experiment database")("experiment", po::value<int64_t>(),
                                               "experiment ID (frostnas runs)")(
      "top", po::value<int64_t>()->default_value(5), "how many architectures, best reward first")(
      "out", po::value<std::string>(), "output directory");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  if (!vm.count("experiment")) throw InputError("missing --experiment ID (see frostnas runs)");
  if (!vm.count("out")) throw InputError("missing --out DIR");
  const int64_t k = vm["top"].as<int64_t>();
  if (k < 1) throw InputError("--top: " + std::to_string(k) + " is out of range (allowed: >= 1)");
  const std::string db = vm["db"].as<std::string>();
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database");
  Store store(db);
  const int64_t id = vm["experiment"].as<int64_t>();
  store.get_experiment(id);
  const std::filesystem::path out = vm["out"].as<std::string>();
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw InputError(out.string() + ": cannot create directory (" + ec.message() + ")");

  int rank = 1;
  std::map<int64_t, std::string> files;
  for (const auto& c : store.top_candidates(id, k)) {
    NetSpec net = net_spec_from_json(c.arch, db);
    char name[64];
    std::snprintf(name, sizeof(name), "rank%02d-%s.json", rank++, c.arch_hash.c_str());
    net.name = "exp" + std::to_string(id) + "-cand" + std::to_string(c.seq);
    save_net_spec(net, (out / name).string());
    files[c.id] = name;
    std::cout << (out / name).string() << "\n";
  }
  std::vector<CandidateRecord> done;
  std::vector<ParetoPoint> points;
  for (const auto& c : store.list_candidates(id, CandidateStatus::kDone)) {
    if (!c.int8_acc || !c.predicted_latency_ms) continue;
    done.push_back(c);
    points.push_back({*c.int8_acc, *c.predicted_latency_ms});
  }
  nlohmann::json front = nlohmann::json::array();
  for (size_t i : pareto_front(points)) {
    const auto& c = done[i];
    front.push_back({{"seq", c.seq},
                     {"hash", c.arch_hash},
                     {"int8_acc", *c.int8_acc},
                     {"latency_ms", *c.predicted_latency_ms},
                     {"reward", c.reward ? nlohmann::json(*c.reward) : nlohmann::json()},
                     {"file", files.count(c.id) ? nlohmann::json(files[c.id]) : nlohmann::json()},
                     {"arch", c.arch}});
  }
  save_json_file({{"experiment", id},
                  {"x", "int8 latency (ms)"},
                  {"y", "int8 accuracy (%)"},
                  {"front", front}},
                 (out / "pareto.json").string());
  std::cout << (out / "pareto.json").string() << " (" << front.size() << " of " << points.size()
            << " candidates on the front)\n";
  return 0;
}

const RegisterCommand kSearch({"search", "frostnas search --config FILE [options]",
                               "Run (or resume) an architecture search recorded in SQLite",
                               search});
const RegisterCommand kRuns({"runs", "frostnas runs [--db FILE] [--json]",
                             "List the experiments of a database", runs});
const RegisterCommand kTop({"top", "frostnas top --experiment ID [-k 5] [options]",
                            "Show the best candidates of an experiment", top});
const RegisterCommand kExport(
    {"export", "frostnas export --experiment ID --top K --out DIR [options]",
     "Write the best architectures as frostnas.arch/1 files plus pareto.json", export_archs});

}  // namespace
}  // namespace frostnas::cli
