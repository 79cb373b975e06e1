#pragma once

#include <cstddef>
#include <memory>

#include <ATen/ATen.h>

#include "space/resolved_net.h"
#include "trainer/int8/int8_ops.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// One INT8 convolution with BN folded and ReLU fused (stem, squeeze, expand,
/// depthwise, project, head, or the 1x1 classifier with bias): symmetric qint8 weights
/// (codes -127..127) per channel or per tensor, float bias, requantized to `out` qparams.
/// quint8 channels-last [N, in, H, W] -> quint8 channels-last [N, out, H', W'].
///
/// oneDNN's quantized conv caches its primitive on the packed weight for the input
/// shape and thread count of the first call only; every later call of another shape or
/// thread count builds the primitive anew (batch-1 latency about twice as long after a
/// batch-256 accuracy run). So on oneDNN each (input sizes, threads) gets its own
/// packed weight, packed at its first call (at most kMaxPacks; further shapes share the
/// first). Copies share the packs. Calls may come from several threads.
class Int8ConvBnAct {
 public:
  /// codes: kChar [out, in / groups, k, k]; scales: [out] (per tensor: all equal);
  /// bias: float [out]. Packs for `engine` (the engine must be available) a per-channel or
  /// a per-tensor quantized weight, as `weights` says.
  Int8ConvBnAct(const ConvLayer& layer, at::Tensor codes, at::Tensor scales, at::Tensor bias,
                QParams out, QuantEngine engine, WeightQuant weights = WeightQuant::kPerChannel);
  /// Quantizes a float (BN-folded) weight the way fake_quantize_weight(weight, weights)
  /// does.
  static Int8ConvBnAct from_float(const ConvLayer& layer, const at::Tensor& weight,
                                  const at::Tensor& bias, QParams out, QuantEngine engine,
                                  WeightQuant weights = WeightQuant::kPerChannel);

  at::Tensor forward(const at::Tensor& qx) const;

  /// Packed weights made so far (1 after construction).
  size_t pack_count() const;
  static constexpr size_t kMaxPacks = 8;

  const ConvLayer& layer() const { return layer_; }
  QParams out_qparams() const { return out_; }
  QuantEngine engine() const { return engine_; }
  WeightQuant weight_quant() const { return weights_; }
  const at::Tensor& codes() const { return codes_; }
  const at::Tensor& scales() const { return scales_; }
  const at::Tensor& bias() const { return bias_; }

 private:
  ConvLayer layer_;
  at::Tensor codes_, scales_, bias_;
  QParams out_;
  QuantEngine engine_;
  WeightQuant weights_;
  struct Packs;
  std::shared_ptr<Packs> packs_;
};

}  // namespace frostnas
