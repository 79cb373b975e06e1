#pragma once

#include <torch/torch.h>

namespace frostnas {

/// Options of a bias-free convolution followed by batch norm and an optional ReLU.
struct ConvBnActOptions {
  ConvBnActOptions(int64_t in_channels, int64_t out_channels, int64_t kernel)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, groups) = 1;
  TORCH_ARG(bool, relu) = true;
};

/// Conv2d(bias = false, padding = (kernel - 1) / 2) -> BatchNorm2d -> ReLU (optional).
/// Input [N, in, H, W] -> output [N, out, H', W'].
class ConvBnActImpl : public torch::nn::Module {
 public:
  explicit ConvBnActImpl(const ConvBnActOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters();

  ConvBnActOptions options;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBnAct);

struct ConvLayer;
/// The ConvBnAct of one resolved convolution layer (space/resolved_net.h).
ConvBnAct make_conv_bn_act(const ConvLayer& layer);

}  // namespace frostnas
