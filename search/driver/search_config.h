#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "search/driver/evaluator.h"
#include "space/search_space.h"
#include "trainer/data/splits.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// The "format" field of a search configuration.
constexpr const char* kSearchConfigFormat = "frostnas.search/1";

/// Where the latency of a candidate comes from.
struct LatencyConfig {
  std::string source =
      "table";  ///< "table": the measured lookup table; "macs": MACs / 1e6 as a stand-in
  std::string precision = "int8";   ///< int8 or fp32
  double target_ms = 1.0;           ///< T of the MnasNet objective
  std::string constraint = "soft";  ///< soft (alpha = beta = -0.07) or hard (alpha = 0, beta = -1)
  QuantEngine engine = QuantEngine::kOneDNN;
  int64_t threads = 1;  ///< threads the latency is measured and predicted for
};

class ConfigFields;
/// The JSON fields of the latency settings (common/config_fields.h), with their checks.
void config_fields(ConfigFields& f, LatencyConfig& l);

/// The data a search trains and scores candidates on (validation: the candidates' score).
using SearchDataConfig = DataSpec;

/// A whole search experiment, as read from `frostnas search --config FILE`.
struct SearchConfig {
  std::string name = "search";
  std::string space_path;  ///< resolved against the config file's folder
  SearchSpace space;
  std::string strategy = "rl";
  nlohmann::json strategy_options = nlohmann::json::object();
  int64_t samples = 20;  ///< proposals (strategy steps), duplicates included
  /// Proposals per strategy update, evaluated together (on as many workers). The
  /// recorded search depends on it, not on the number of workers.
  int64_t batch = 1;
  uint64_t seed = 0;
  SearchDataConfig data;
  TrainConfig train;
  AccuracyMetric metric = AccuracyMetric::kInt8;
  LatencyConfig latency;
  double failure_reward = 0.0;  ///< reward of a candidate that diverged or failed

  /// The configuration as stored with the experiment (the space inlined; "batch"
  /// only when above 1, so that experiments from before batches still resume).
  nlohmann::json to_json() const;
};

/// Parses and validates a search configuration; `source` names it in errors and
/// relative paths resolve against `base_dir`.
SearchConfig search_config_from_json(const nlohmann::json& j, const std::string& source,
                                     const std::string& base_dir);
SearchConfig load_search_config(const std::string& path);

/// The training and validation images of search `c` (make_splits with its data and seed).
DataSplits search_data(const SearchConfig& c);

}  // namespace frostnas
