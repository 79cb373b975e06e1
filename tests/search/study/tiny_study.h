#pragma once

// A study small enough for the suites: the tiny 28x28 net on 96 synthetic images, one epoch
// of batch 32, one thread.

#include <nlohmann/json.hpp>

#include "tests/common/tiny_nets.h"

namespace frostnas::testing {

/// Two variants that differ in the learning rate, two seeds, one comparison.
inline nlohmann::json tiny_study_json() {
  return {{"format", "frostnas.study/1"},
          {"name", "tiny"},
          {"seeds", {0, 1}},
          {"metric", "fp32_acc"},
          {"split", "val"},
          {"base",
           {{"arch", to_json(tiny_net())},
            {"data", {{"name", "synthetic"}, {"train_subset", 96}, {"val_size", 64}}},
            {"train",
             {{"epochs", 1},
              {"batch_size", 32},
              {"optimizer", {{"name", "sgd"}, {"lr", 0.05}}},
              {"qat", "statassist"},
              {"fp_warmup_epochs", 0.5},
              {"eval_batch_size", 64}}}}},
          {"variants",
           {{{"name", "low"}, {"train", {{"optimizer", {{"lr", 0.01}}}}}}, {{"name", "high"}}}},
          {"comparisons", {{{"a", "low"}, {"b", "high"}}}},
          {"criteria", {{"alpha", 0.05}, {"margin", 0.5}}}};
}

}  // namespace frostnas::testing
