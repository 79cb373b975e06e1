#pragma once

#include <torch/torch.h>

#include "space/resolved_net.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Conv-BN(-ReLU) for quantization-aware training, with the parameter names of
/// space's ConvBnAct (`conv.weight`, `bn.*`) plus the output fake quantizer `out_fq`.
/// - float mode (fold_bn off): conv -> BN -> ReLU, as ConvBnAct;
/// - QAT (fold_bn on), PyTorch's ConvBn2d `_forward_approximate`:
///   sf = gamma / sqrt(running_var + eps); y = conv(x, fq_w(w * sf)) / sf; y = BN(y)
///   (computed as conv(x, fq_w(w * sf) / sf): equal up to rounding, cheaper to backprop)
///   (fq_w per channel or per tensor as the mode's `weights` says)
///   with batch statistics in training (running statistics in eval or after freeze_bn);
///   ReLU; out_fq(y).
/// Input [N, in, H, W] -> output [N, out, H', W'].
class QatConvBnActImpl : public torch::nn::Module, public QatModeTarget {
 public:
  /// `layer` gives shapes, stride, groups and ReLU (batch_norm must be true).
  explicit QatConvBnActImpl(const ConvLayer& layer, QuantEngine engine = QuantEngine::kOneDNN);
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters();
  void set_qat_mode(const QatMode& mode) override;
  const QatMode& qat_mode() const { return mode_; }
  /// Runs the convolution in channels-last (NHWC) format: input and weight are made
  /// channels-last, and so is the output, so that the layers after it follow. oneDNN's
  /// convolutions, the depthwise ones above all, are several times faster so on the CPU
  /// (docs/results.md). Values equal the NCHW path's up to float rounding.
  void set_channels_last(bool on) { channels_last_ = on; }
  bool channels_last() const { return channels_last_; }
  const ConvLayer& layer() const { return layer_; }

  /// The BN scale factor gamma / sqrt(running_var + eps): [out].
  torch::Tensor bn_scale_factor() const;
  /// BN folded with running statistics: weight w * sf [out, in/groups, k, k] and bias
  /// beta - running_mean * sf [out] (not fake-quantized; detached).
  std::pair<torch::Tensor, torch::Tensor> folded_weight_and_bias() const;

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  ActFakeQuant out_fq{nullptr};

 private:
  /// fq_w(w * sf) / sf (or w * sf / sf without fake quantization): [out, in/groups, k, k].
  /// Float CPU weights under fake quantization go through one fused autograd node
  /// (fold_bn_fake_quantize_weight), others through LibTorch's ops.
  torch::Tensor folded_weight() const;
  torch::Tensor batch_norm(const torch::Tensor& y);
  ConvLayer layer_;
  QatMode mode_;
  bool channels_last_ = false;
};
TORCH_MODULE(QatConvBnAct);

}  // namespace frostnas
