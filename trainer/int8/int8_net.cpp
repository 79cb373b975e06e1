#include "trainer/int8/int8_net.h"

namespace frostnas {

Int8Net::Int8Net(NetSpec spec, QuantEngine engine, QParams input, Int8ConvBnAct stem,
                 std::vector<Int8Block> blocks, Int8ConvBnAct head, Int8ConvBnAct classifier)
    : spec_(std::move(spec)),
      resolved_(resolve(spec_)),
      engine_(engine),
      input_(input),
      stem_(std::move(stem)),
      blocks_(std::move(blocks)),
      head_(std::move(head)),
      classifier_(std::move(classifier)) {
  TORCH_CHECK(blocks_.size() == resolved_.blocks.size(), "Int8Net: ", blocks_.size(),
              " blocks for an architecture with ", resolved_.blocks.size());
}

at::Tensor Int8Net::quantize_input(const at::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == spec_.in_channels, "Int8Net expects [N, ",
              spec_.in_channels, ", H, W], got ", x.sizes());
  return quantize_activation(x.to(at::kFloat), input_);
}

at::Tensor Int8Net::forward_quantized(const at::Tensor& qx) const {
  QEngineGuard guard(engine_);
  at::Tensor y = stem_.forward(qx);
  for (const auto& b : blocks_) y = b.forward(y);
  y = at::adaptive_avg_pool2d(head_.forward(y), {1, 1});
  return classifier_.forward(y);
}

at::Tensor Int8Net::forward(const at::Tensor& x) const {
  return forward_quantized(quantize_input(x)).dequantize().flatten(1);
}

}  // namespace frostnas
