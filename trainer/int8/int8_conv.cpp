#include "trainer/int8/int8_conv.h"

#include "trainer/quant/act_fake_quant.h"

namespace frostnas {

Int8ConvBnAct::Int8ConvBnAct(const ConvLayer& layer, at::Tensor codes, at::Tensor scales,
                             at::Tensor bias, QParams out, QuantEngine engine)
    : layer_(layer),
      codes_(codes.to(at::kCPU).contiguous()),
      scales_(scales.to(at::kCPU).to(at::kFloat).contiguous()),
      bias_(bias.to(at::kCPU).to(at::kFloat).contiguous()),
      out_(out),
      engine_(engine) {
  const std::vector<int64_t> shape{layer.out_channels, layer.in_channels / layer.groups,
                                   layer.kernel, layer.kernel};
  TORCH_CHECK(codes_.sizes() == at::IntArrayRef(shape), "Int8ConvBnAct '", layer.role, "': weight ",
              codes_.sizes(), ", expected ", at::IntArrayRef(shape));
  TORCH_CHECK(bias_.dim() == 1 && bias_.size(0) == layer.out_channels, "Int8ConvBnAct '",
              layer.role, "': bias must be [", layer.out_channels, "]");
  TORCH_CHECK(out.scale > 0 && out.zero_point >= 0 && out.zero_point <= 255, "Int8ConvBnAct '",
              layer.role, "': bad output qparams");
  QEngineGuard guard(engine);
  packed_ = conv2d_prepack(make_qweight(codes_, scales_), bias_, layer.stride, layer.padding(),
                           layer.groups);
}

Int8ConvBnAct Int8ConvBnAct::from_float(const ConvLayer& layer, const at::Tensor& weight,
                                        const at::Tensor& bias, QParams out, QuantEngine engine) {
  auto [codes, scales] = quantize_weight_codes(weight.to(at::kCPU).to(at::kFloat));
  return Int8ConvBnAct(layer, codes, scales, bias, out, engine);
}

at::Tensor Int8ConvBnAct::forward(const at::Tensor& qx) const {
  return qconv2d(qx, packed_, out_, layer_.relu);
}

}  // namespace frostnas
