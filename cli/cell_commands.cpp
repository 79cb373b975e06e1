// `frostnas cell-search`.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "common/error.h"
#include "search/cell/cell_search.h"
#include "search/store/store.h"
#include "space/genotype.h"

namespace frostnas::cli {
namespace {

int cell_search(const Command& self, const std::vector<std::string>& args) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(),
                        "cell search configuration (frostnas.cell_search/1 JSON)")(
      "db", po::value<std::string>()->default_value(kDefaultStorePath), "experiment database")(
      "resume", po::value<int64_t>(),
      "continue experiment ID from its last finished epoch (with its stored configuration)")(
      "out", po::value<std::string>(),
      "genotype file to write (default: next to the database, cell-search-ID.json)")(
      "precision", po::value<std::string>(),
      "qat or fp32 (the same search without fake quantization); default: the config's")(
      "quiet", po::bool_switch()->default_value(false), "plain log lines instead of progress bars");
  add_weight_quant_option(options);
  po::variables_map vm;
  if (!parse_args(self, args, options, {}, vm)) return 0;
  // Bad input is refused before the database is created or touched.
  if (!vm.count("resume") && !vm.count("config"))
    throw InputError("missing --config FILE (see --help)");
  const std::optional<WeightQuant> weights = weight_quant_option(vm);
  std::optional<SearchPrecision> precision;
  if (vm.count("precision"))
    precision = parse_search_precision(vm["precision"].as<std::string>(), "--precision");
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
  if (precision) config.precision = *precision;
  if (weights) config.weight_quant = *weights;
  const bool quiet = vm["quiet"].as<bool>();

  run_options.on_progress = cell_search_progress(quiet);

  CellSearchResult result;
  {
    InterruptGuard interrupt;
    run_options.stop = interrupt.flag();
    result = run_cell_search(config, store, run_options);
  }

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
            << describe_derivation(result.evidence) << "\n"
            << "genotype " << out << "; database " << store.path() << "\n";
  return 0;
}

const RegisterCommand kCellSearch(
    {"cell-search",
     "frostnas cell-search --config FILE [--db FILE] [--resume ID] [--out FILE] [--precision "
     "qat|fp32] [--weight-quant per_channel|per_tensor] [--quiet]",
     "P-DARTS progressive cell search under quantization-aware training", cell_search});

}  // namespace
}  // namespace frostnas::cli
