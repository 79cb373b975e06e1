#include "search/driver/latency_source.h"

#include <iostream>

#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "trainer/progress_bar.h"

namespace frostnas {

LatencyFn make_latency_fn(const SearchConfig& config, Store& store, bool quiet) {
  if (config.latency.source == "macs") {
    return [](const NetSpec& net) { return static_cast<double>(resolve(net).macs()) / 1e6; };
  }
  const LatencyConfig& l = config.latency;
  apply_thread_settings(l.threads);
  const Fingerprint fp = machine_fingerprint(l.engine, l.threads);
  TorchMeasureOptions measure;
  measure.engine = l.engine;
  TorchLutMeasurer measurer(measure);
  const NetMeasureFn measure_nets = [&](const std::vector<NetSpec>& nets) {
    return measure_networks(nets, l.engine, measure.timing, measure.seed);
  };
  ProgressBarOptions bar_options;
  bar_options.quiet = quiet;
  bar_options.unit = "entries";
  ProgressBar bar("latency table", 0, bar_options);
  const LutBuildReport report =
      build_latency_table(store, fp, config.space, measurer, measure_nets, LutBuildOptions{},
                          [&](size_t done, size_t total) {
                            bar.update(static_cast<int64_t>(done), {{"of", std::to_string(total)}});
                          });
  bar.finish(
      {{"measured", std::to_string(report.measured)}, {"reused", std::to_string(report.reused)}});
  auto table =
      std::make_shared<const LatencyTable>(load_latency_table(store, report.fingerprint_id));
  auto model = std::make_shared<TableLatencyModel>(table, parse_precision(l.precision));
  return [model](const NetSpec& net) { return model->predict_ms(net); };
}

}  // namespace frostnas
