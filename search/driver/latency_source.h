#pragma once

#include <functional>

#include "search/driver/search_config.h"
#include "search/driver/search_driver.h"
#include "search/latency/latency_table.h"
#include "search/store/store.h"

namespace frostnas {

/// Progress of a latency table build: `on_progress(done, total)` before the first and after
/// each chunk of entries, `on_done` with the build's report. Both optional.
struct LatencyBuildCallbacks {
  std::function<void(size_t done, size_t total)> on_progress;
  std::function<void(const LutBuildReport&)> on_done;
};

/// The latency a search prices candidates with. For source "table" the lookup
/// table of `config.space` for this machine (engine, threads) and the training's weight
/// scheme (config.train.weight_quant) is built in `store`
/// on the way (incrementally: entries already there are reused) and its corrected
/// sum is the prediction; for "macs" the MAC count in millions stands in.
LatencyFn make_latency_fn(const SearchConfig& config, Store& store,
                          const LatencyBuildCallbacks& callbacks = {});

}  // namespace frostnas
