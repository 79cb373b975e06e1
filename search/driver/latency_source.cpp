#include "search/driver/latency_source.h"

#include <iostream>

#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"

namespace frostnas {

LatencyFn make_latency_fn(const SearchConfig& config, Store& store,
                          const LatencyBuildCallbacks& callbacks) {
  if (config.latency.source == "macs") {
    return [](const NetSpec& net) { return static_cast<double>(resolve(net).macs()) / 1e6; };
  }
  const LatencyConfig& l = config.latency;
  apply_thread_settings(l.threads);
  const Fingerprint fp = machine_fingerprint(l.engine, l.threads);
  // The candidates are trained and converted with the training's weight scheme.
  const WeightQuant weights = config.train.weight_quant;
  TorchMeasureOptions measure;
  measure.engine = l.engine;
  measure.weight_quant = weights;
  TorchLutMeasurer measurer(measure);
  const NetMeasureFn measure_nets = [&](const std::vector<NetSpec>& nets) {
    return measure_networks(nets, l.engine, measure.timing, measure.seed, kNetworkGroup, {},
                            weights);
  };
  LutBuildOptions build;
  build.weight_quant = weights;
  const LutBuildReport report = build_latency_table(store, fp, config.space, measurer, measure_nets,
                                                    build, callbacks.on_progress);
  if (callbacks.on_done) callbacks.on_done(report);
  auto table =
      std::make_shared<const LatencyTable>(load_latency_table(store, report.fingerprint_id));
  auto model =
      std::make_shared<TableLatencyModel>(table, parse_precision(l.precision), true, weights);
  return [model](const NetSpec& net) { return model->predict_ms(net); };
}

}  // namespace frostnas
