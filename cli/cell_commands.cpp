// `frostnas cell-search`.
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command.h"
#include "cli/progress_bar.h"
#include "common/error.h"
#include "search/cell/cell_search.h"
#include "search/store/store.h"
#include "space/genotype.h"

namespace frostnas::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_cell_search_sigint(int) { g_stop.store(true); }

std::string fmt(const char* format, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

int cell_search(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(),
                        "cell search configuration (frostnas.cell_search/1 JSON)")(
      "db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")(
      "resume", po::value<int64_t>(),
      "continue experiment ID from its last finished epoch (with its stored configuration)")(
      "out", po::value<std::string>(),
      "genotype file to write (default: next to the database, cell-search-ID.json)")(
      "quiet", po::bool_switch()->default_value(false), "plain log lines instead of progress bars");
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  // Bad input is refused before the database is created or touched.
  if (!vm.count("resume") && !vm.count("config"))
    throw InputError("missing --config FILE (see --help)");
  std::optional<CellSearchConfig> given;
  if (vm.count("config")) given = load_cell_search_config(vm["config"].as<std::string>());
  Store store(vm["db"].as<std::string>());
  CellSearchOptions run_options;
  CellSearchConfig config;
  if (vm.count("resume")) {
    run_options.resume_id = vm["resume"].as<int64_t>();
    config = given ? *given : cell_search_config_from_store(store, *run_options.resume_id);
  } else {
    config = *given;
  }
  const bool quiet = vm["quiet"].as<bool>();

  std::unique_ptr<ProgressBar> bar;
  run_options.on_progress = [&](const CellSearchProgress& p) {
    using Event = CellSearchProgress::Event;
    const auto fields = [&] {
      return std::vector<ProgressField>{
          {"loss", fmt("%.4f", p.train_loss)},   {"acc", fmt("%.2f%%", p.train_acc)},
          {"val", fmt("%.2f%%", p.val_acc)},     {"lr", fmt("%.3g", p.lr)},
          {"mode", p.qat_active ? "qat" : "fp"}, {"arch", p.arch_active ? "on" : "off"}};
    };
    if (p.event == Event::kEpochStart) {
      ProgressBarOptions o;
      o.quiet = quiet;
      o.unit = "img";
      bar = std::make_unique<ProgressBar>(
          "stage " + std::to_string(p.stage + 1) + "/" + std::to_string(p.stages) + " epoch " +
              std::to_string(p.epoch + 1) + "/" + std::to_string(p.epochs),
          p.steps * p.batch_size, o);
    } else if (p.event == Event::kStep) {
      if (bar) bar->update(p.step * p.batch_size, fields());
    } else if (p.event == Event::kEpochEnd) {
      if (bar) bar->finish(fields());
      bar.reset();
    } else if (p.event == Event::kStageEnd && p.weights != nullptr) {
      std::cout << "stage " << p.stage + 1 << "/" << p.stages << ": softmaxed architecture weights"
                << " (* = strongest op of the edge)\n"
                << format_arch_weights(*p.weights);
      if (p.next_ops != nullptr) {
        std::cout << "kept for stage " << p.stage + 2 << ":";
        for (size_t e = 0; e < p.next_ops->size(); ++e) {
          std::cout << (e ? ";" : "") << " " << to_string(cell_edge_slots(p.weights->nodes)[e])
                    << " ";
          for (size_t k = 0; k < (*p.next_ops)[e].size(); ++k)
            std::cout << (k ? "," : "") << (*p.next_ops)[e][k];
        }
        std::cout << "\n";
      }
      std::cout.flush();
    }
  };

  g_stop.store(false);
  run_options.stop = &g_stop;
  auto previous = std::signal(SIGINT, on_cell_search_sigint);
  CellSearchResult result;
  try {
    result = run_cell_search(config, store, run_options);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  bar.reset();

  if (result.interrupted) {
    throw InputError("interrupted: resume with frostnas cell-search --db " + store.path() +
                     " --resume " + std::to_string(result.experiment_id));
  }
  std::string out;
  if (vm.count("out")) {
    out = vm["out"].as<std::string>();
  } else {
    const auto dir = std::filesystem::path(store.path()).parent_path();
    out = (dir / ("cell-search-" + std::to_string(result.experiment_id) + ".json")).string();
  }
  save_genotype(result.genotype, out);
  std::cout << "experiment " << result.experiment_id << ": genotype "
            << canonical_string(result.genotype) << " (" << count_skips(result.genotype)
            << " skip edges, cap " << config.max_skip << ")\n"
            << "genotype " << out << "; database " << store.path() << "\n";
  return 0;
}

const RegisterCommand kCellSearch(
    {"cell-search",
     "frostnas cell-search --config FILE [--db FILE] [--resume ID] [--out FILE] [--quiet]",
     "P-DARTS progressive cell search under quantization-aware training", cell_search});

}  // namespace
}  // namespace frostnas::cli
