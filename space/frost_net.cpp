#include "space/frost_net.h"

#include <cmath>

namespace frostnas {

FrostNetImpl::FrostNetImpl(const NetSpec& spec) : spec_(spec), resolved_(resolve(spec)) {
  stem = register_module("stem", make_conv_bn_act(resolved_.stem));
  blocks = register_module("blocks", torch::nn::Sequential());
  for (const auto& b : resolved_.blocks) {
    blocks->push_back(FrostBlock(FrostBlockOptions(b.in_channels, b.out_channels)
                                     .kernel(b.spec.kernel)
                                     .expansion(b.spec.expansion)
                                     .reduction(b.spec.reduction)
                                     .stride(b.spec.stride)
                                     .type(b.spec.type)
                                     .cell(b.spec.cell)
                                     .input_size(b.in_size)));
  }
  head = register_module("head", make_conv_bn_act(resolved_.head));
  dropout = register_module("dropout", torch::nn::Dropout(spec.dropout));
  classifier = register_module(
      "classifier",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(spec.head.channels, spec.num_classes, 1).bias(true)));
  init_classifier(*classifier);
}

void init_classifier(torch::nn::Conv2dImpl& classifier) {
  torch::NoGradGuard no_grad;
  const auto& w = classifier.weight;
  const double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1) * w.size(2) * w.size(3)));
  torch::nn::init::uniform_(classifier.weight, -bound, bound);
  if (classifier.bias.defined()) torch::nn::init::zeros_(classifier.bias);
}

torch::Tensor FrostNetImpl::features(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == spec_.in_channels, "FrostNet expects [N, ",
              spec_.in_channels, ", H, W], got ", x.sizes());
  return head->forward(blocks->forward(stem->forward(x)));
}

torch::Tensor FrostNetImpl::forward(torch::Tensor x) {
  auto y = torch::adaptive_avg_pool2d(features(std::move(x)), {1, 1});
  y = classifier->forward(dropout->forward(y));
  return y.flatten(1);
}

FrostNet build_model(const NetSpec& spec, torch::Device device) {
  FrostNet net(spec);
  net->to(device);
  return net;
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace frostnas
