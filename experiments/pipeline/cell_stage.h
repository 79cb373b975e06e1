#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/cell/derivation.h"
#include "search/store/store.h"
#include "space/genotype.h"
#include "space/search_space.h"

namespace frostnas {

/// What stage 2 of the pipeline produced.
struct PipelineCellResult {
  int64_t experiment_id = 0;
  Genotype genotype;
  DerivationEvidence evidence;  ///< which edges of `genotype` the search decided
  bool interrupted = false;
  double seconds = 0.0;
};

/// What the pipeline logs about a finished cell search: "stage cell_search: experiment N,
/// genotype G", then describe_derivation of its evidence (an UNDECIDED genotype says so).
std::vector<std::string> cell_stage_log_lines(const PipelineCellResult& cell);

/// Runs (or continues: an experiment of kind cell-search named `name` is resumed) the
/// cell search of `config` (frostnas.cell_search/1 JSON; `source` names it in errors)
/// with the pipeline's seed.
PipelineCellResult run_cell_stage(const nlohmann::json& config, const std::string& source,
                                  const std::string& name, uint64_t seed, Store& store,
                                  const std::atomic<bool>* stop,
                                  const std::function<void(const std::string&)>& progress);

/// `space` with the searched cell offered as a block type in every slot that has an
/// expansion option above 1 (with EF 1 a block has no branch for the cell to replace).
SearchSpace with_cell_option(const SearchSpace& space, const Genotype& genotype);

}  // namespace frostnas
