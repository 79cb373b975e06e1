#pragma once

#include <torch/torch.h>

#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The switches of quantization-aware training, applied to a whole module tree.
/// - fold_bn: ConvBN(ReLU) layers fold BN into the weights (PyTorch's QAT ConvBn2d);
///   off = float mode, plain conv -> BN -> ReLU on the SAME parameters.
/// - fake_quant: weights and activations are fake-quantized.
/// - observers: activation observers update their moving-average min/max.
/// - bn_frozen: BN uses running statistics (and stops updating them) even in train().
/// - weights: how fake quantization rounds weights (per channel or per tensor). A QatNet
///   fixes it at construction and stamps it on every mode it applies.
struct QatMode {
  bool fold_bn = false;
  bool fake_quant = false;
  bool observers = false;
  bool bn_frozen = false;
  WeightQuant weights = WeightQuant::kPerChannel;

  /// Full-precision (StatAssist warm-up): everything off.
  static QatMode float_mode() { return {}; }
  /// Quantization-aware training: fold, fake quant and observers on, BN live.
  static QatMode qat(WeightQuant weights = WeightQuant::kPerChannel) {
    return {true, true, true, false, weights};
  }
  bool operator==(const QatMode& o) const {
    return fold_bn == o.fold_bn && fake_quant == o.fake_quant && observers == o.observers &&
           bn_frozen == o.bn_frozen && weights == o.weights;
  }
};

/// Implemented by every module whose behaviour depends on the QatMode.
class QatModeTarget {
 public:
  virtual ~QatModeTarget() = default;
  virtual void set_qat_mode(const QatMode& mode) = 0;
};

/// Applies `mode` to `root` and every descendant that is a QatModeTarget.
void apply_qat_mode(torch::nn::Module& root, const QatMode& mode);

}  // namespace frostnas
