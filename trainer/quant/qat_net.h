#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "space/frost_net.h"
#include "space/net_spec.h"
#include "space/resolved_net.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_block.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The quantization-aware version of FrostNet, built from a NetSpec through resolve():
/// input_fq -> stem -> blocks -> head -> avg pool (kept on the head's grid) -> dropout
/// -> classifier (1x1 conv with bias, fake-quantized weight) -> logits_fq. Weights are
/// fake-quantized per channel or per tensor (`weights`, fixed at construction: every
/// mode the net applies carries it).
/// Parameters and BN buffers have FrostNet's names (stem.*, blocks.i.*, head.*,
/// classifier.*) and are initialised like it. Starts in float mode.
/// Input [N, in_channels, H, W] -> logits [N, num_classes].
class QatNetImpl : public torch::nn::Module, public QatModeTarget {
 public:
  explicit QatNetImpl(const NetSpec& spec, QuantEngine engine = QuantEngine::kOneDNN,
                      WeightQuant weights = WeightQuant::kPerChannel);
  torch::Tensor forward(torch::Tensor x);

  /// Full precision on the same parameters (StatAssist warm-up).
  void set_float_mode();
  /// Fold BN, fake quantization and observers on (BN stays as it is).
  void enable_qat();
  void enable_fake_quant(bool on);
  void enable_observers(bool on);
  void freeze_observers() { enable_observers(false); }
  /// BN uses and keeps its running statistics from now on.
  void freeze_bn();
  /// Applies a whole mode to every layer, with the net's weight scheme.
  void set_mode(const QatMode& mode);
  const QatMode& mode() const { return mode_; }
  /// Every Conv-BN layer in channels-last format (see QatConvBnActImpl::set_channels_last).
  void set_channels_last(bool on);
  void set_qat_mode(const QatMode& mode) override {
    mode_ = mode;
    mode_.weights = weights_;
  }

  const NetSpec& spec() const { return spec_; }
  const ResolvedNet& resolved() const { return resolved_; }
  QuantEngine engine() const { return engine_; }
  WeightQuant weight_quant() const { return weights_; }
  const std::vector<QatBlock>& block_modules() const { return block_modules_; }

  ActFakeQuant input_fq{nullptr};
  QatConvBnAct stem{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  QatConvBnAct head{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Conv2d classifier{nullptr};
  ActFakeQuant logits_fq{nullptr};

 private:
  NetSpec spec_;
  ResolvedNet resolved_;
  QuantEngine engine_;
  WeightQuant weights_;
  QatMode mode_;
  std::vector<QatBlock> block_modules_;
};
TORCH_MODULE(QatNet);

/// Copies every parameter and buffer of a float FrostNet into the QatNet of the same
/// spec (same names and shapes; the QatNet's observer state is left untouched).
/// Throws InputError naming the first parameter that is missing or has another shape.
void copy_float_weights(FrostNetImpl& from, QatNetImpl& to);
/// The reverse: a FrostNet with the QatNet's parameters and BN statistics.
void copy_to_float(QatNetImpl& from, FrostNetImpl& to);

}  // namespace frostnas
