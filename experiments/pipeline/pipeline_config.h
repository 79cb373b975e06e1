#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/driver/search_config.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// The "format" field of a pipeline configuration.
constexpr const char* kPipelineFormat = "frostnas.pipeline/1";

/// Stage 4: the top k found architectures retrained from scratch, on the whole
/// training split, scored on the test set.
struct RetrainConfig {
  int64_t top_k = 3;
  SearchDataConfig data;  ///< train_subset 0 = all; val_size held out (not scored)
  TrainConfig train;      ///< StatAssist + GradBoost by default, a longer budget
};

/// Stage 6: baselines trained exactly like the found networks.
struct BaselineConfig {
  /// Built-in architectures (`frostnas arch list`), adapted to the data's channels,
  /// classes and the space's input size.
  std::vector<std::string> frostnet{"frostnet-small-1.0", "frostnet-base-1.0",
                                    "frostnet-large-1.0"};
  /// MobileNetV2-style networks on the space's skeleton (every slot kept, EF 6, kernel 3,
  /// no squeeze branch): for each found network the width of this grid whose measured
  /// INT8 latency is closest to the found network's.
  std::vector<double> mobilenet_widths{0.5, 0.75, 1.0, 1.25, 1.5, 2.0};
};

/// How final models' latency is measured end to end (real INT8 and BN-folded FP32).
struct MeasureConfig {
  int64_t threads = 1;
  int64_t warmup = 5;
  int64_t rounds = 30;
};

class ConfigFields;
/// The JSON fields of the sections (common/config_fields.h), with their checks.
void config_fields(ConfigFields& f, RetrainConfig& t);
void config_fields(ConfigFields& f, BaselineConfig& b);
void config_fields(ConfigFields& f, MeasureConfig& m);

/// One reproduction run: (1) latency table, (2) cell search, (3) RL search with the cell
/// as a block option, (4) retraining of the top k, (5) INT8 conversion with measured
/// accuracy and latency, (6) baselines under the same budget.
struct PipelineConfig {
  std::string name = "frostnet-repro";
  uint64_t seed = 0;
  SearchConfig search;             ///< stages 1 and 3 (its space, latency settings, data)
  nlohmann::json cell_search;      ///< stage 2 (frostnas.cell_search/1, inlined); null = skip
  std::string cell_search_source;  ///< where cell_search came from, for messages
  RetrainConfig retrain;
  BaselineConfig baselines;
  MeasureConfig measure;
  bool quick = false;  ///< the "quick" overrides were applied

  /// Self-contained JSON (search and cell search inlined), as stored with the experiment.
  nlohmann::json to_json() const;
};

/// Parses and validates a pipeline configuration. Paths ("search", "cell_search")
/// resolve against `base_dir`. With `quick`, the object's "quick" member is applied
/// first as a JSON merge patch (RFC 7386). Throws InputError naming file and field.
PipelineConfig pipeline_config_from_json(const nlohmann::json& j, const std::string& source,
                                         const std::string& base_dir, bool quick);
PipelineConfig load_pipeline_config(const std::string& path, bool quick);

/// Makes every stage that trains or times networks use weight scheme `weights`: the
/// search's candidates, the retrained models and baselines, and the inline cell search.
void set_weight_quant(PipelineConfig& config, WeightQuant weights);

}  // namespace frostnas
