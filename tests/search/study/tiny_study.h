#pragma once

// A study small enough for the suites: the tiny 28x28 net on 96 synthetic images, one epoch
// of batch 32, one thread.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/study/study_runner.h"

#include "tests/common/tiny_nets.h"
#include "tests/search/cell/cell_test_util.h"

namespace frostnas::testing {

/// Study options of the suites: every run on one thread.
inline StudyOptions one_thread() {
  StudyOptions o;
  o.threads = 1;
  return o;
}

/// The stored metrics of every run by (variant, seed), without the keys in `drop` (timings,
/// experiment ids).
inline std::map<std::pair<std::string, int64_t>, nlohmann::json> metrics_by_run(
    const std::vector<StudyRunRecord>& runs, const std::vector<std::string>& drop) {
  std::map<std::pair<std::string, int64_t>, nlohmann::json> out;
  for (const StudyRunRecord& r : runs) {
    nlohmann::json m = r.metrics;
    for (const std::string& key : drop) m.erase(key);
    out[{r.variant, r.seed}] = m;
  }
  return out;
}

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

/// A cell search study: the unit tests' tiny search (5 epochs of 2 steps, ops 8 -> 4 -> 2)
/// under QAT and in FP32, two seeds, the first stage's weights of three ops, the last
/// stage's weight of se and the decided fraction, one comparison.
inline nlohmann::json tiny_cell_study_json() {
  nlohmann::json search = tiny_cell_search_json();
  for (const char* key : {"format", "name", "seed", "threads"}) search.erase(key);
  return {{"format", "frostnas.study/1"},
          {"name", "tiny-cell"},
          {"kind", "cell_search"},
          {"seeds", {0, 1}},
          {"metrics",
           {"op_weight@1:se", "op_weight@1:avg_pool_3x3", "op_weight@1:max_pool_3x3",
            "op_weight:se", "decided_fraction"}},
          {"base", {{"cell_search", search}}},
          {"variants",
           {{{"name", "qat"}}, {{"name", "fp32"}, {"cell_search", {{"precision", "fp32"}}}}}},
          {"comparisons", {{{"a", "qat"}, {"b", "fp32"}}}}};
}

}  // namespace frostnas::testing
