#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace frostnas::testing {

/// A cell search small enough for unit tests: synthetic data (64 samples, 32 per half,
/// 2 steps of 16 per epoch), a 2-node cell, depth 1 -> 2 -> 2, 5 epochs in all, ops
/// 8 -> 4 -> 2, fake quantization from the middle of each stage's first epoch.
inline nlohmann::json tiny_cell_search_json() {
  return nlohmann::json::parse(R"({
    "format": "frostnas.cell_search/1",
    "name": "tiny",
    "seed": 3,
    "threads": 1,
    "data": {"name": "synthetic", "train_subset": 32, "val_size": 32},
    "batch_size": 16,
    "cell": {"nodes": 2, "join": "concat"},
    "supernet": {"stem_channels": 8, "channels": [8], "expansion": 2, "head_channels": 16},
    "stages": [
      {"depth": 1, "epochs": 2, "warmup_epochs": 1, "ops": 8, "skip_dropout": 0.0},
      {"depth": 2, "epochs": 1, "warmup_epochs": 0, "ops": 4, "skip_dropout": 0.3},
      {"depth": 2, "epochs": 2, "warmup_epochs": 0, "ops": 2, "skip_dropout": 0.5}
    ],
    "weight_optimizer": {"fp_warmup_epochs": 0.5},
    "max_skip": 1
  })");
}

}  // namespace frostnas::testing
