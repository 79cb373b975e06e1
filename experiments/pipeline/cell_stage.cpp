#include "experiments/pipeline/cell_stage.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "search/cell/cell_search.h"

namespace frostnas {

PipelineCellResult run_cell_stage(const nlohmann::json& config, const std::string& source,
                                  const std::string& name, uint64_t seed, Store& store,
                                  const std::atomic<bool>* stop,
                                  const std::function<void(const std::string&)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  CellSearchConfig c = cell_search_config_from_json(config, source);
  c.name = name;
  c.seed = seed;
  CellSearchOptions options;
  options.stop = stop;
  for (const auto& e : store.list_experiments(kCellSearchKind))
    if (e.name == name) options.resume_id = e.id;
  options.on_progress = [progress](const CellSearchProgress& p) {
    if (!progress || p.event != CellSearchProgress::Event::kEpochEnd) return;
    char line[200];
    std::snprintf(
        line, sizeof(line), "cell search stage %lld/%lld epoch %lld/%lld: train %.2f%% val %s%s",
        static_cast<long long>(p.stage + 1), static_cast<long long>(p.stages),
        static_cast<long long>(p.epoch + 1), static_cast<long long>(p.epochs), p.train_acc,
        std::isnan(p.val_acc) ? "-" : (std::to_string(p.val_acc).substr(0, 5) + "%").c_str(),
        p.qat_active ? " (QAT)" : "");
    progress(line);
  };
  const CellSearchResult r = run_cell_search(c, store, options);
  PipelineCellResult out;
  out.experiment_id = r.experiment_id;
  out.interrupted = r.interrupted;
  out.genotype = r.genotype;
  out.evidence = r.evidence;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::vector<std::string> cell_stage_log_lines(const PipelineCellResult& cell) {
  return {"stage cell_search: experiment " + std::to_string(cell.experiment_id) + ", genotype " +
              canonical_string(cell.genotype),
          "stage cell_search: " + describe_derivation(cell.evidence)};
}

SearchSpace with_cell_option(const SearchSpace& space, const Genotype& genotype) {
  SearchSpace s = space;
  s.cell = std::make_shared<const Genotype>(genotype);
  for (auto& stage : s.stages) {
    for (auto& slot : stage.slots) {
      // With EF 1 only, a block has no branch for the cell to replace.
      if (std::none_of(slot.expansions.begin(), slot.expansions.end(),
                       [](int64_t e) { return e > 1; }))
        continue;
      std::vector<BlockType> types = slot.type_options();
      if (std::find(types.begin(), types.end(), BlockType::kCell) == types.end())
        types.push_back(BlockType::kCell);
      slot.types = types;
      slot.type = types.front();
    }
  }
  return s;
}

}  // namespace frostnas
