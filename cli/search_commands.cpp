// `frostnas search`, `frostnas runs`, `frostnas top`, `frostnas export`.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "search/driver/latency_source.h"
#include "search/driver/pareto.h"
#include "search/driver/search_driver.h"
#include "search/store/store.h"
#include "space/arch_report.h"
#include "space/error.h"
#include "space/json_reader.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"
#include "trainer/progress_bar.h"
#include "trainer/train/train_model.h"

namespace frostnas::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) { g_stop.store(true); }

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string opt(const std::optional<double>& v, const char* format) {
  return v ? fmt(format, *v) : std::string("-");
}

DataSplits search_data(const SearchConfig& c) {
  ImageDataset train = load_dataset(c.data.name, "train", c.data.dir, c.data.images);
  if (c.data.train_subset > 0)
    train = take_subset(train, c.data.train_subset + c.data.val_size, c.seed);
  TrainValSplit split = split_train_val(train, c.data.val_size, c.seed);
  return DataSplits{std::move(split.train), std::move(split.val), ImageDataset{}};
}

int search(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(),
                        "search configuration (frostnas.search/1 JSON)")(
      "db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")(
      "resume", po::value<int64_t>(),
      "continue experiment ID (with the configuration it was started with)")(
      "quiet", po::bool_switch()->default_value(false), "plain log lines instead of progress bars");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  // Bad input is refused before the database is created or touched.
  if (!vm.count("resume") && !vm.count("config"))
    throw InputError("missing --config FILE (see --help)");
  std::optional<SearchConfig> given;
  if (vm.count("config")) given = load_search_config(vm["config"].as<std::string>());
  Store store(vm["db"].as<std::string>());
  std::optional<int64_t> resume;
  SearchConfig config;
  if (vm.count("resume")) {
    resume = vm["resume"].as<int64_t>();
    const ExperimentRecord e = store.get_experiment(*resume);
    config = given ? *given
                   : search_config_from_json(
                         e.config, store.path() + ": experiment " + std::to_string(e.id), ".");
  } else {
    config = *given;
  }
  const bool quiet = vm["quiet"].as<bool>();
  // The table is measured on the latency's thread count; training uses its own.
  const LatencyFn latency = make_latency_fn(config, store, quiet);
  configure_runtime(config.train.threads);
  torch::manual_seed(config.seed);
  const DataSplits data = search_data(config);
  g_stop.store(false);
  auto previous = std::signal(SIGINT, on_sigint);
  TrainingEvaluator evaluator(data, config.train, &g_stop);

  ProgressBarOptions bar_options;
  bar_options.quiet = quiet;
  bar_options.unit = "arch";
  ProgressBar bar("search", config.samples, bar_options);
  SearchHooks hooks;
  hooks.stop = &g_stop;
  hooks.on_step = [&](const SearchStep& s) {
    const CandidateRecord& c = s.candidate;
    std::cerr << (bar.tty() ? "\r\033[K" : "") << "[" << s.step << "/" << s.total << "] candidate "
              << c.seq << (s.reused ? " (repeat)" : "") << " " << c.status << " int8 "
              << opt(c.int8_acc, "%.2f%%") << " lat " << opt(c.predicted_latency_ms, "%.3f")
              << " reward " << fmt("%.4f", s.reward) << " train " << opt(c.train_seconds, "%.1fs")
              << (c.error.empty() ? "" : " error: " + c.error) << "\n";
    bar.update(s.step, {{"best", fmt("%.4f", s.best_reward)}});
  };
  const SearchSummary summary = run_search(config, store, evaluator, latency, resume, hooks);
  std::signal(SIGINT, previous);
  bar.finish();

  std::cout << "experiment " << summary.experiment_id << ": " << summary.steps << "/"
            << config.samples << " proposals, " << summary.evaluated << " evaluated now, "
            << summary.reused << " repeats; database " << store.path() << "\n";
  if (summary.best) {
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
  if (summary.interrupted) {
    throw InputError("interrupted: resume with frostnas search --db " + store.path() +
                     " --resume " + std::to_string(summary.experiment_id));
  }
  return 0;
}

int runs(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("db", po::value<std::string>()->default_value(kDefaultStorePath),
                        "experiment database")("json", po::bool_switch()->default_value(false),
                                               "print JSON");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  const std::string db = vm["db"].as<std::string>();
  if (!std::filesystem::exists(db)) throw InputError(db + ": no such database");
  Store store(db);
  nlohmann::json out = nlohmann::json::array();
  if (!vm["json"].as<bool>()) {
    std::printf("%4s %-12s %-20s %-12s %6s %9s  %s\n", "id", "kind", "name", "status", "cands",
                "best", "created");
  }
  for (const auto& e : store.list_experiments()) {
    const auto candidates = store.list_candidates(e.id);
    const auto best = store.top_candidates(e.id, 1);
    nlohmann::json j = to_json(e);
    j.erase("config");
    j["candidates"] = candidates.size();
    j["best_reward"] = best.empty() ? nlohmann::json() : nlohmann::json(*best.front().reward);
    out.push_back(j);
    if (!vm["json"].as<bool>()) {
      std::printf("%4lld %-12s %-20s %-12s %6zu %9s  %s\n", static_cast<long long>(e.id),
                  e.kind.c_str(), e.name.c_str(), e.status.c_str(), candidates.size(),
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
  for (const auto& c : store.list_candidates(id, "done")) {
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
