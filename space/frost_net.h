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

/// Initialises a classifier (the 1x1 conv [classes, C, 1, 1] after the head, bias [classes])
/// with the scale of PyTorch's default conv init: weight U(-1/sqrt(C), 1/sqrt(C)), bias 0, so
/// that the first logits have about the spread of the features whatever C and the class
/// count. FrostNet's official code gives it the Kaiming fan-out init of every conv, whose
/// scale falls with 1/sqrt(classes): calm at ImageNet's 1000 classes, but at 10 classes the
/// first logits have a standard deviation above 10 and a run starts at losses of 10-20
/// (docs/frostnet.md, "Initialisation").
void init_classifier(torch::nn::Conv2dImpl& classifier);

/// Builds the float model of `spec` on `device` (weights initialised as the official code,
/// docs/frostnet.md, "Initialisation":
/// kaiming normal fan-out, BN weight 1 bias 0; the classifier by init_classifier).
FrostNet build_model(const NetSpec& spec, torch::Device device = torch::kCPU);

/// Number of trainable parameter elements of a module.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace frostnas
