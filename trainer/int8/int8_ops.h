#pragma once

#include <vector>

#include <ATen/ATen.h>
#include <ATen/native/quantized/PackedParams.h>

#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Packed INT8 convolution weights of the engine that was current when packing.
using ConvPacked = c10::intrusive_ptr<ConvPackedParamsBase<2>>;

/// Thin wrappers over LibTorch's quantized operators (c10::Dispatcher; docs/frostnet.md,
/// "LibTorch runtime notes"). Activations are quint8, channels-last [N, C, H, W].

/// A qint8 weight from int8 codes [out, ...] (kChar) and scales [out], zero points 0:
/// per channel (axis 0), or per tensor with the one scale all entries of `scales` hold
/// (TORCH_CHECK that they are equal).
at::Tensor make_qweight(const at::Tensor& codes, const at::Tensor& scales,
                        WeightQuant weights = WeightQuant::kPerChannel);
/// `quantized::conv2d_prepack` under the current engine (dilation 1). bias: [out] float.
ConvPacked conv2d_prepack(const at::Tensor& qweight, const at::Tensor& bias, int64_t stride,
                          int64_t padding, int64_t groups);
/// `quantized::conv2d.new` / `quantized::conv2d_relu.new`.
at::Tensor qconv2d(const at::Tensor& qx, const ConvPacked& packed, QParams out, bool relu);
/// `quantized::cat` (boxed) into one scale and zero point.
at::Tensor qcat(const std::vector<at::Tensor>& xs, int64_t dim, QParams out);
/// `quantized::add`.
at::Tensor qadd(const at::Tensor& a, const at::Tensor& b, QParams out);
/// `quantized::mul` (broadcasting, e.g. [N, C, H, W] * [N, C, 1, 1]).
at::Tensor qmul(const at::Tensor& a, const at::Tensor& b, QParams out);
/// Float [N, C, H, W] -> quint8 channels-last with `qp`.
at::Tensor quantize_activation(const at::Tensor& x, QParams qp);

}  // namespace frostnas
