#pragma once

#include <cstdint>
#include <utility>

#include <torch/torch.h>

namespace frostnas {

/// Per-tensor affine fake quantization with the straight-through gradient: the values
/// and gradients of torch::fake_quantize_per_tensor_affine(x, scale, zero_point,
/// quant_min, quant_max), bit for bit (q = nearbyint(x / scale) + zero_point, clamped to
/// [quant_min, quant_max], back as (q - zero_point) * scale; the gradient passes where
/// q was in range). Float CPU tensors go through one vectorized pass (AVX2 where the
/// CPU has it) that also writes a byte mask for the backward; LibTorch 1.13's CPU kernel
/// is a scalar loop and took 17 % of a proxy QAT step (bench/qat_step_profile). Other
/// devices and dtypes use LibTorch's op. Any shape and memory format -> the same.
/// Beyond LibTorch's defined behaviour (|x / scale| >= 2^63, inf, NaN) it saturates
/// +-inf and huge values to the nearer end of the range and keeps NaN, where LibTorch's
/// float-to-int64 conversion maps them to quant_min.
/// With `relu`, the same of torch::relu(x), values and gradients, in the same single pass
/// (the ReLU's own forward and backward passes are saved).
torch::Tensor fake_quantize_per_tensor(const torch::Tensor& x, float scale, int64_t zero_point,
                                       int64_t quant_min, int64_t quant_max, bool relu = false);

/// Symmetric int8 weight fake quantization of a float CPU weight [out, ...] (contiguous
/// or channels-last) in one autograd node: scale max|w_c| / code_max per output channel
/// (or max|w| / code_max for every channel when per_tensor), at least float eps; codes
/// -code_max..code_max, zero point 0. Values and gradients equal, bit for bit, those of
/// torch::fake_quantize_per_channel_affine (or _per_tensor_affine) with the scales that
/// amax / code_max followed by clamp_min(eps) give; LibTorch's path takes about eight ops
/// and a scalar loop per layer. -> the same shape and memory format.
torch::Tensor fake_quantize_weight_symmetric(const torch::Tensor& weight, bool per_tensor,
                                             int64_t code_max);

/// BN folded into a convolution's weight for QAT, fake-quantized and divided back, in one
/// autograd node (QatConvBnAct's weight path): sf = gamma / sqrt(running_var + eps) per
/// output channel, fq_w(weight * sf) * (1 / sf) with fq_w as fake_quantize_weight_symmetric.
/// The chain of LibTorch ops it replaces (about 8 forward and 14 backward ops per layer,
/// each a dispatch and an allocation on a small weight) cost about 4 % of a proxy QAT step.
/// Values and the weight's gradient equal, bit for bit, those of that chain; gamma's
/// gradient (through sf) equals it up to summation order. running_var gets no gradient.
/// weight [out, ...], gamma and running_var [out], float CPU -> [out, ...] contiguous.
torch::Tensor fold_bn_fake_quantize_weight(const torch::Tensor& weight, const torch::Tensor& gamma,
                                           const torch::Tensor& running_var, double eps,
                                           bool per_tensor, int64_t code_max);

/// (min, max) of a non-empty dense float CPU tensor of any memory format, equal to
/// torch::aminmax(x) (NaN for both when x holds a NaN), in one vectorized pass over the
/// storage; LibTorch 1.13's aminmax copies a channels-last tensor to contiguous first.
std::pair<float, float> dense_min_max(const torch::Tensor& x);

/// Whether fake_quantize_per_tensor runs `x` through its own kernel (a float CPU
/// tensor) rather than LibTorch's op.
inline bool uses_fake_quant_kernel(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat;
}

/// Instruction sets of the CPU kernel; kAuto picks AVX2 + FMA where the CPU has them.
/// Tests force kBaseline to cover the other build of the loops.
enum class FakeQuantIsa { kAuto, kBaseline };
void set_fake_quant_isa(FakeQuantIsa isa);

}  // namespace frostnas
