#pragma once

#include <torch/torch.h>

#include "space/resolved_net.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_cell.h"
#include "trainer/quant/qat_conv_bn_act.h"

namespace frostnas {

/// A Frost / MBConv / depthwise bottleneck for quantization-aware training, built from
/// a ResolvedBlock, with the parameter names of space's FrostBlock. Fake quantization
/// sits where the INT8 block requantizes: after every ConvBN(ReLU) (`*.out_fq`), after
/// the concatenation of the squeeze branch (`cat_fq`, one scale for both parts) and
/// after the residual add (`add_fq`). A kCell block runs its QatCell (`cell`) in the
/// place of the squeeze branch: x' = cat_fq(cat(cell(x), x)) (join concat) or
/// x' = join_fq(cell(x) + x) (join sum). The input is expected already fake-quantized.
/// Input [N, C_in, H, W] -> output [N, C_out, H / s, W / s].
class QatBlockImpl : public torch::nn::Module {
 public:
  explicit QatBlockImpl(const ResolvedBlock& block, QuantEngine engine = QuantEngine::kOneDNN);
  torch::Tensor forward(const torch::Tensor& x);
  const ResolvedBlock& resolved() const { return resolved_; }

  QatConvBnAct squeeze{nullptr};  ///< kFrost only
  QatCell cell{nullptr};          ///< kCell only
  QatConvBnAct expand{nullptr};   ///< not for kDepthwise
  QatConvBnAct depthwise{nullptr};
  QatConvBnAct project{nullptr};
  ActFakeQuant cat_fq{nullptr};   ///< kFrost, and kCell with join concat
  ActFakeQuant join_fq{nullptr};  ///< kCell with join sum
  ActFakeQuant add_fq{nullptr};   ///< residual only

 private:
  ResolvedBlock resolved_;
};
TORCH_MODULE(QatBlock);

}  // namespace frostnas
