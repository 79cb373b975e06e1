#pragma once

#include "search/driver/search_config.h"
#include "search/driver/search_driver.h"
#include "search/store/store.h"

namespace frostnas {

/// The latency a search prices candidates with. For source "table" the lookup
/// table of `config.space` for this machine (engine, threads) is built in `store`
/// on the way (incrementally: entries already there are reused) and its corrected
/// sum is the prediction; for "macs" the MAC count in millions stands in.
LatencyFn make_latency_fn(const SearchConfig& config, Store& store, bool quiet);

}  // namespace frostnas
