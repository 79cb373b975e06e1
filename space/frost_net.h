#pragma once

#include <torch/torch.h>

#include "space/conv_bn_act.h"
#include "space/frost_block.h"
#include "space/net_spec.h"
#include "space/resolved_net.h"

namespace frostnas {

/// A float network built from a NetSpec: stem, Frost blocks, head, classifier.
/// Input [N, in_channels, input_size, input_size] -> logits [N, num_classes].
class FrostNetImpl : public torch::nn::Module {
 public:
  explicit FrostNetImpl(const NetSpec& spec);
  torch::Tensor forward(torch::Tensor x);
  /// Features before pooling: [N, head_channels, H', W'].
  torch::Tensor features(torch::Tensor x);

  const NetSpec& spec() const { return spec_; }
  const ResolvedNet& resolved() const { return resolved_; }

  ConvBnAct stem{nullptr};
  torch::nn::Sequential blocks{nullptr};
  ConvBnAct head{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Conv2d classifier{nullptr};

 private:
  NetSpec spec_;
  ResolvedNet resolved_;
};
TORCH_MODULE(FrostNet);

/// Builds the float model of `spec` on `device` (weights initialised as the
/// reference: kaiming normal fan-out, BN weight 1 bias 0, zero classifier bias).
FrostNet build_model(const NetSpec& spec, torch::Device device = torch::kCPU);

/// Number of trainable parameter elements of a module.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace frostnas
