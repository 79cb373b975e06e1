#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace frostnas {

/// Parameters that share hyper-parameters; the group's weight decay is the optimizer config's
/// times `weight_decay_scale`.
struct ParamGroupSpec {
  std::string name;
  std::vector<torch::Tensor> params;
  double weight_decay_scale = 1.0;
};

/// Whether `weight` is a depthwise convolution weight judged by its shape alone:
/// [out, 1, kh, kw] with out > 1. (A dense conv with one input channel looks the same; see
/// split_weight_decay, which uses the module's `groups` where it can.)
bool is_depthwise_weight(const torch::Tensor& weight);

/// Splits `module`'s parameters (recursively, in registration order) as the official FrostNet
/// training script does:
///  - "decay":     4-D conv weights that are not depthwise, full weight decay (scale 1);
///  - "depthwise": depthwise conv weights, no weight decay (scale 0);
///  - "other":     every other parameter (BN weights and biases, biases, linear weights),
///                 `other_scale` times the weight decay (0.01 in the official script).
/// A torch::nn::Conv2d weight is depthwise when groups > 1 and each group has one input
/// channel; 4-D parameters of other modules are judged by is_depthwise_weight. Groups without
/// parameters are left out.
std::vector<ParamGroupSpec> split_weight_decay(const torch::nn::Module& module,
                                               double other_scale = 0.01);

}  // namespace frostnas
