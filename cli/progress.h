#pragma once

// Terminal progress for the libraries' callbacks: the bars live here, in the command line.

#include <cstdint>

#include <functional>

#include "search/cell/cell_search.h"
#include "search/driver/latency_source.h"
#include "trainer/train/train_model.h"

namespace frostnas::cli {

/// Callbacks that draw one bar per epoch of a training run on stderr (quiet: a plain line
/// every 10 s): images done, rate, ETA, the epoch's running loss and accuracy, the lr and
/// whether fake quantization is on. `epochs` and `batch_size` as in the run's TrainConfig.
TrainCallbacks train_progress(int64_t epochs, int64_t batch_size, bool quiet);

/// Callbacks that draw the latency table's build on stderr (entries measured and reused).
LatencyBuildCallbacks latency_progress(bool quiet);

/// A cell search's progress callback: one bar per epoch of each stage (loss, accuracy, the
/// validation accuracy, lr, QAT and architecture-update phases), and after each stage the
/// softmaxed architecture weights and the ops kept for the next stage, on stdout.
std::function<void(const CellSearchProgress&)> cell_search_progress(bool quiet);

}  // namespace frostnas::cli
