#include "trainer/optim/param_groups.h"

#include <unordered_map>

namespace frostnas {

bool is_depthwise_weight(const torch::Tensor& weight) {
  return weight.dim() == 4 && weight.size(1) == 1 && weight.size(0) > 1;
}

std::vector<ParamGroupSpec> split_weight_decay(const torch::nn::Module& module,
                                               double other_scale) {
  // Conv2d weights are classified by `groups`, so that a 1-channel stem is not "depthwise".
  std::unordered_map<const void*, bool> conv_depthwise;
  auto note_conv = [&](const torch::nn::Module& m) {
    if (const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(&m)) {
      conv_depthwise[conv->weight.unsafeGetTensorImpl()] =
          conv->options.groups() > 1 && conv->weight.size(1) == 1;
    }
  };
  note_conv(module);
  for (const auto& child : module.modules(/*include_self=*/false)) note_conv(*child);

  ParamGroupSpec decay{"decay", {}, 1.0};
  ParamGroupSpec depthwise{"depthwise", {}, 0.0};
  ParamGroupSpec other{"other", {}, other_scale};
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const auto& p = item.value();
    if (p.dim() != 4) {
      other.params.push_back(p);
      continue;
    }
    const auto it = conv_depthwise.find(p.unsafeGetTensorImpl());
    const bool dw = it != conv_depthwise.end() ? it->second : is_depthwise_weight(p);
    (dw ? depthwise : decay).params.push_back(p);
  }
  std::vector<ParamGroupSpec> groups;
  for (auto* g : {&decay, &depthwise, &other}) {
    if (!g->params.empty()) groups.push_back(std::move(*g));
  }
  return groups;
}

}  // namespace frostnas
