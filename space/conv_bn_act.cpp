#include "space/conv_bn_act.h"

#include "space/resolved_net.h"

namespace frostnas {

ConvBnActImpl::ConvBnActImpl(const ConvBnActOptions& opts) : options(opts) {
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(opts.in_channels(), opts.out_channels(), opts.kernel())
                      .stride(opts.stride())
                      .padding((opts.kernel() - 1) / 2)
                      .groups(opts.groups())
                      .bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(opts.out_channels()));
  reset_parameters();
}

void ConvBnActImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  torch::nn::init::ones_(bn->weight);
  torch::nn::init::zeros_(bn->bias);
}

torch::Tensor ConvBnActImpl::forward(const torch::Tensor& x) {
  auto y = bn->forward(conv->forward(x));
  return options.relu() ? torch::relu(y) : y;
}

ConvBnAct make_conv_bn_act(const ConvLayer& layer) {
  return ConvBnAct(ConvBnActOptions(layer.in_channels, layer.out_channels, layer.kernel)
                       .stride(layer.stride)
                       .groups(layer.groups)
                       .relu(layer.relu));
}

}  // namespace frostnas
