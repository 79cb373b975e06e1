#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "search/latency/latency_key.h"
#include "search/latency/timing.h"
#include "space/net_spec.h"
#include "trainer/int8/folded_fp32.h"
#include "trainer/int8/int8_block.h"
#include "trainer/int8/int8_net.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The INT8 and FP32 latency of one table item.
struct ItemTiming {
  Timing int8;
  Timing fp32;
};

/// Measures table items. The table builder calls it in chunks; tests inject a fake
/// to count measurements without timing anything.
class LutMeasurer {
 public:
  virtual ~LutMeasurer() = default;
  /// One ItemTiming per item, in order.
  virtual std::vector<ItemTiming> measure(const std::vector<LutItem>& items) = 0;
};

/// What the real measurer needs.
struct TorchMeasureOptions {
  QuantEngine engine = QuantEngine::kOneDNN;
  /// How the INT8 side quantizes weights (the table keys must be of the same scheme).
  WeightQuant weight_quant = WeightQuant::kPerChannel;
  TimingOptions timing;
  int64_t calibration_batches = 2;  ///< QAT observer batches before conversion
  int64_t calibration_batch_size = 2;
  uint64_t seed = 0;  ///< random weights and inputs
};

/// Builds every item for real and times it at batch 1: a QatBlock (or the space's
/// skeleton QatNet for the stem, head and io) with seeded random weights is run for a
/// few calibration batches in QAT mode, frozen, and converted with convert_to_int8
/// (the INT8 side, under the engine) and fold_to_fp32 (the FP32 side). INT8 and FP32
/// calls of all items of a chunk are interleaved in every round.
class TorchLutMeasurer : public LutMeasurer {
 public:
  explicit TorchLutMeasurer(TorchMeasureOptions options) : options_(options) {}
  std::vector<ItemTiming> measure(const std::vector<LutItem>& items) override;

 private:
  TorchMeasureOptions options_;
};

/// A whole network as real INT8 and FP32 inference models (the validation side).
struct BuiltNet {
  NetSpec spec;
  std::shared_ptr<Int8Net> int8;
  std::shared_ptr<FoldedNet> fp32;
  at::Tensor input;  ///< float [1, in_channels, H, W]
};

/// A QatNet of `spec` with seeded random weights, calibrated on random batches in
/// QAT mode, frozen, then converted to INT8 (`engine`, weights quantized as `weights`)
/// and folded to FP32.
BuiltNet build_net(const NetSpec& spec, QuantEngine engine, uint64_t seed,
                   int64_t calibration_batches = 2, int64_t calibration_batch_size = 2,
                   WeightQuant weights = WeightQuant::kPerChannel);

/// End-to-end latency of whole networks: Int8Net::forward and FoldedNet::forward of a
/// float input at batch 1, all networks and both precisions interleaved per round.
struct NetTiming {
  Timing int8;
  Timing fp32;
};
std::vector<NetTiming> time_networks(const std::vector<BuiltNet>& nets, QuantEngine engine,
                                     const TimingOptions& timing);

/// Networks timed interleaved in one group. The calibration networks of `lut build`
/// and the samples of `lut validate` are both measured in groups of this size, so that
/// every network shares its rounds with as many others (the same cache pressure): with
/// 10 calibration networks in one group and 30 validation networks in another, the same
/// INT8 networks differed systematically between the two.
constexpr int64_t kNetworkGroup = 10;

/// Builds and times `specs` in groups of `group` networks (memory, and the same
/// conditions for every caller: see kNetworkGroup), calling `progress(done)` after each
/// group. Network i gets weights seeded `seed + i`, quantized as `weights`.
std::vector<NetTiming> measure_networks(const std::vector<NetSpec>& specs, QuantEngine engine,
                                        const TimingOptions& timing, uint64_t seed,
                                        int64_t group = kNetworkGroup,
                                        const std::function<void(size_t)>& progress = {},
                                        WeightQuant weights = WeightQuant::kPerChannel);

/// A saved model as a BuiltNet: the INT8 artifact `dir/int8` (load_int8_model) and the
/// FP32 fold of the float checkpoint `dir/qat.pt` (the pipeline) or
/// `dir/qat_checkpoint.pt` (`frostnas train --out`); input seeded normal. Throws
/// InputError naming the missing or bad file, or an architecture that differs between
/// the two.
BuiltNet load_built_net(const std::string& dir, uint64_t seed = 0);

/// Times `nets` under the table's protocol for whole networks (that of measure_networks
/// in `lut build` and `lut validate`): interleaved in one group with `companions` built
/// with random weights (seeds seed, seed + 1, ...), so that each network shares its
/// rounds with as many others (the same cache pressure). Trained and random weights run
/// alike (bench/latency_trained_gap); what differs between processes is their state, so
/// final figures are best taken in a fresh process (`frostnas lut time`). Returns the
/// timings of `nets`, in order.
std::vector<NetTiming> time_with_companions(const std::vector<BuiltNet>& nets,
                                            const std::vector<NetSpec>& companions,
                                            QuantEngine engine, const TimingOptions& timing,
                                            uint64_t seed);

}  // namespace frostnas
