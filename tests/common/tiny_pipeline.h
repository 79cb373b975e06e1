#pragma once

#include <nlohmann/json.hpp>

namespace frostnas::testing {

/// A pipeline small enough for a unit test: synthetic data, MAC-count latency, two
/// search samples, one retrained network and two baselines. "search.space" is relative
/// to the source tree's experiments/ folder.
inline nlohmann::json tiny_pipeline_config() {
  nlohmann::json train = {{"epochs", 1},
                          {"batch_size", 64},
                          {"optimizer", {{"name", "qsgd"}, {"lr", 0.05}}},
                          {"qat", "statassist"},
                          {"fp_warmup_epochs", 0.5},
                          {"threads", 1},
                          {"eval_batch_size", 256}};
  return {{"format", "frostnas.pipeline/1"},
          {"name", "tiny"},
          {"seed", 3},
          {"search",
           {{"format", "frostnas.search/1"},
            {"space", "spaces/proxy.json"},
            {"strategy", {{"name", "random"}}},
            {"samples", 2},
            {"data", {{"name", "synthetic"}, {"train_subset", 256}, {"val_size", 128}}},
            {"train", train},
            {"latency", {{"source", "macs"}, {"target_ms", 5.0}}}}},
          {"cell_search", nullptr},
          {"retrain",
           {{"top_k", 1},
            {"data", {{"name", "synthetic"}, {"train_subset", 256}, {"val_size", 128}}},
            {"train", train}}},
          {"baselines", {{"frostnet", {"frostnet-small-0.35"}}, {"mobilenet_widths", {0.5, 1.0}}}},
          {"measure", {{"threads", 1}, {"warmup", 1}, {"rounds", 3}}}};
}

}  // namespace frostnas::testing
