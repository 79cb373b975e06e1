#include "trainer/quant/qat_conv_bn_act.h"

#include "trainer/quant/fake_quant_kernel.h"

namespace frostnas {

QatConvBnActImpl::QatConvBnActImpl(const ConvLayer& layer, QuantEngine engine) : layer_(layer) {
  TORCH_CHECK(layer.batch_norm && !layer.bias, "QatConvBnAct: layer '", layer.role,
              "' must be a bias-free conv with BN");
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(layer.in_channels, layer.out_channels, layer.kernel)
                      .stride(layer.stride)
                      .padding(layer.padding())
                      .groups(layer.groups)
                      .bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(layer.out_channels));
  out_fq = register_module("out_fq", ActFakeQuant(act_fake_quant_options(engine)));
  reset_parameters();
}

void QatConvBnActImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  torch::nn::init::ones_(bn->weight);
  torch::nn::init::zeros_(bn->bias);
}

void QatConvBnActImpl::set_qat_mode(const QatMode& mode) { mode_ = mode; }

torch::Tensor QatConvBnActImpl::bn_scale_factor() const {
  return bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
}

std::pair<torch::Tensor, torch::Tensor> QatConvBnActImpl::folded_weight_and_bias() const {
  torch::NoGradGuard no_grad;
  auto sf = bn_scale_factor();
  auto w = conv->weight * sf.reshape({-1, 1, 1, 1});
  auto b = bn->bias - bn->running_mean * sf;
  return {w.detach().clone(), b.detach().clone()};
}

torch::Tensor QatConvBnActImpl::folded_weight() const {
  if (mode_.fake_quant && uses_fake_quant_kernel(conv->weight)) {
    return fold_bn_fake_quantize_weight(conv->weight, bn->weight, bn->running_var,
                                        bn->options.eps(), mode_.weights == WeightQuant::kPerTensor,
                                        kWeightQuantMax);
  }
  auto sf = bn_scale_factor().reshape({-1, 1, 1, 1});
  auto w = conv->weight * sf;
  if (mode_.fake_quant) w = fake_quantize_weight(w, mode_.weights);
  // PyTorch divides the conv output by sf. A convolution is linear in each output
  // channel's filter, so dividing the (small) fake-quantized weight instead gives the
  // same value and gradients up to rounding, and saves one pass over the activation
  // forward and five backward (the quotient's gradient; the largest elementwise cost of
  // a QAT step, bench/qat_step_profile).
  return w * sf.reciprocal();
}

torch::Tensor QatConvBnActImpl::batch_norm(const torch::Tensor& y) {
  if (!mode_.bn_frozen) return bn->forward(y);
  return torch::batch_norm(y, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                           /*training=*/false, 0.0, bn->options.eps(), /*cudnn_enabled=*/false);
}

torch::Tensor QatConvBnActImpl::forward(const torch::Tensor& x) {
  const auto format =
      channels_last_ ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const torch::Tensor in = channels_last_ ? x.contiguous(format) : x;
  const torch::Tensor w = mode_.fold_bn ? folded_weight() : conv->weight;
  const torch::Tensor y = batch_norm(torch::conv2d(in, w.contiguous(format), {}, layer_.stride,
                                                   layer_.padding(), 1, layer_.groups));
  return layer_.relu ? out_fq->relu_forward(y) : out_fq->forward(y);
}

}  // namespace frostnas
