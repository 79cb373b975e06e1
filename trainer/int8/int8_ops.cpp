#include "trainer/int8/int8_ops.h"

#include <ATen/core/dispatch/Dispatcher.h>

namespace frostnas {

at::Tensor make_qweight(const at::Tensor& codes, const at::Tensor& scales, WeightQuant weights) {
  TORCH_CHECK(codes.scalar_type() == at::kChar, "make_qweight: codes must be int8");
  TORCH_CHECK(scales.dim() == 1 && scales.size(0) == codes.size(0), "make_qweight: scales [",
              codes.size(0), "] expected, got ", scales.sizes());
  if (weights == WeightQuant::kPerTensor) {
    TORCH_CHECK((scales == scales[0]).all().item<bool>(),
                "make_qweight: per-tensor weights need one scale for every channel");
    return at::_make_per_tensor_quantized_tensor(codes.contiguous(), scales[0].item<double>(), 0);
  }
  auto zps = at::zeros({codes.size(0)}, at::kLong);
  return at::_make_per_channel_quantized_tensor(codes.contiguous(), scales.to(at::kDouble), zps, 0);
}

ConvPacked conv2d_prepack(const at::Tensor& qweight, const at::Tensor& bias, int64_t stride,
                          int64_t padding, int64_t groups) {
  static auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("quantized::conv2d_prepack", "")
          .typed<ConvPacked(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                            torch::List<int64_t>, torch::List<int64_t>, int64_t)>();
  return op.call(qweight, bias.to(at::kFloat).contiguous(), torch::List<int64_t>({stride, stride}),
                 torch::List<int64_t>({padding, padding}), torch::List<int64_t>({1, 1}), groups);
}

at::Tensor qconv2d(const at::Tensor& qx, const ConvPacked& packed, QParams out, bool relu) {
  using Sig = at::Tensor(at::Tensor, const ConvPacked&, double, int64_t);
  static auto conv =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::conv2d", "new").typed<Sig>();
  static auto conv_relu =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::conv2d_relu", "new").typed<Sig>();
  return (relu ? conv_relu : conv).call(qx, packed, out.scale, out.zero_point);
}

at::Tensor qcat(const std::vector<at::Tensor>& xs, int64_t dim, QParams out) {
  static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::cat", "");
  torch::jit::Stack stack;
  stack.emplace_back(c10::List<at::Tensor>(xs));
  stack.emplace_back(dim);
  stack.emplace_back(out.scale);
  stack.emplace_back(out.zero_point);
  op.callBoxed(&stack);
  return stack.at(0).toTensor();
}

at::Tensor qadd(const at::Tensor& a, const at::Tensor& b, QParams out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::add", "")
                       .typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
  return op.call(a, b, out.scale, out.zero_point);
}

at::Tensor qmul(const at::Tensor& a, const at::Tensor& b, QParams out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::mul", "")
                       .typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
  return op.call(a, b, out.scale, out.zero_point);
}

at::Tensor quantize_activation(const at::Tensor& x, QParams qp) {
  return at::quantize_per_tensor(x.contiguous(at::MemoryFormat::ChannelsLast), qp.scale,
                                 qp.zero_point, at::kQUInt8);
}

}  // namespace frostnas
