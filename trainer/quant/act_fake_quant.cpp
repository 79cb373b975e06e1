#include "trainer/quant/act_fake_quant.h"

#include <ATen/native/quantized/cpu/QuantUtils.h>

#include <limits>

#include "trainer/quant/fake_quant_kernel.h"

namespace frostnas {

ActFakeQuantOptions act_fake_quant_options(QuantEngine engine) {
  return ActFakeQuantOptions().quant_min(0).quant_max(activation_quant_max(engine));
}

ActFakeQuantImpl::ActFakeQuantImpl(const ActFakeQuantOptions& opts) : options(opts) {
  TORCH_CHECK(opts.quant_min() >= kActivationDtypeMin && opts.quant_max() <= kActivationDtypeMax &&
                  opts.quant_min() < opts.quant_max(),
              "ActFakeQuant: quant range must lie in 0..255");
  const float inf = std::numeric_limits<float>::infinity();
  running_min = register_buffer("running_min", torch::full({1}, inf));
  running_max = register_buffer("running_max", torch::full({1}, -inf));
  scale = register_buffer("scale", torch::ones({1}));
  zero_point = register_buffer("zero_point", torch::zeros({1}, torch::kInt));
}

void ActFakeQuantImpl::set_qat_mode(const QatMode& mode) {
  observer_enabled_ = mode.observers;
  fake_quant_enabled_ = mode.fake_quant;
}

bool ActFakeQuantImpl::calibrated() const {
  if (running_min.device().is_cpu()) {
    return !std::isinf(*running_min.data_ptr<float>()) &&
           !std::isinf(*running_max.data_ptr<float>());
  }
  return !std::isinf(running_min.item<float>()) && !std::isinf(running_max.item<float>());
}

bool ActFakeQuantImpl::fused_path() const {
  return !options.clamp_to_dtype() || options.quant_max() == kActivationDtypeMax;
}

torch::Tensor ActFakeQuantImpl::flag(bool on, const torch::Device& device) {
  if (!on_.defined() || on_.device() != device) {
    on_ = torch::ones({1}, torch::TensorOptions().dtype(torch::kLong).device(device));
    off_ = torch::zeros({1}, torch::TensorOptions().dtype(torch::kLong).device(device));
  }
  return on ? on_ : off_;
}

void ActFakeQuantImpl::update_qparams() {
  if (running_min.device().is_cpu()) {
    // What the fused op computes, without its ~10 tensor ops: the same ChooseQuantizationParams
    // over the float range, stored into the float scale and int zero point.
    const auto p = quant_utils::ChooseQuantizationParams(
        *running_min.data_ptr<float>(), *running_max.data_ptr<float>(),
        static_cast<int32_t>(options.quant_min()), static_cast<int32_t>(options.quant_max()));
    *scale.data_ptr<float>() = static_cast<float>(p.scale);
    *zero_point.data_ptr<int32_t>() = p.zero_point;
    return;
  }
  // Observer off, fake quant on, on a one-element dummy: the op recomputes scale and
  // zero point from running_min / running_max exactly as in training.
  auto dummy = torch::zeros({1}, running_min.options());
  torch::fused_moving_avg_obs_fake_quant(
      dummy, flag(false, dummy.device()), flag(true, dummy.device()), running_min, running_max,
      scale, zero_point, options.averaging_constant(), options.quant_min(), options.quant_max(), 0);
}

QParams ActFakeQuantImpl::qparams() {
  TORCH_CHECK(calibrated(), "ActFakeQuant: no batch observed yet, qparams undefined");
  torch::NoGradGuard no_grad;
  update_qparams();
  return {static_cast<double>(scale.item<float>()), zero_point.item<int64_t>()};
}

torch::Tensor ActFakeQuantImpl::fake_quantize(const torch::Tensor& x, bool relu) {
  const int64_t qmax = options.clamp_to_dtype() ? kActivationDtypeMax : options.quant_max();
  // On other devices the tensor qparams avoid a host sync for scale.item().
  if (uses_fake_quant_kernel(x)) {
    return fake_quantize_per_tensor(x, *scale.data_ptr<float>(), *zero_point.data_ptr<int32_t>(),
                                    options.quant_min(), qmax, relu);
  }
  return torch::fake_quantize_per_tensor_affine(relu ? torch::relu(x) : x, scale, zero_point,
                                                options.quant_min(), qmax);
}

torch::Tensor ActFakeQuantImpl::forward(const torch::Tensor& x) {
  if (!observer_enabled_ && !fake_quant_enabled_) return x;
  // On the CPU the fused op's scalar fake-quantization loop is the slow part: observe
  // and choose qparams as it does, then fake-quantize with the vectorized kernel.
  if (fused_path() && !uses_fake_quant_kernel(x)) {
    return torch::fused_moving_avg_obs_fake_quant(
        x, flag(observer_enabled_, x.device()), flag(fake_quant_enabled_, x.device()), running_min,
        running_max, scale, zero_point, options.averaging_constant(), options.quant_min(),
        options.quant_max(), 0);
  }
  return observe_and_fake_quantize(x, /*relu=*/false);
}

torch::Tensor ActFakeQuantImpl::relu_forward(const torch::Tensor& x) {
  if (!fake_quant_enabled_ || !uses_fake_quant_kernel(x)) return forward(torch::relu(x));
  // relu(x)'s range is x's clamped at 0, so x is observed as it is, and the kernel
  // applies the ReLU in its pass.
  return observe_and_fake_quantize(x, /*relu=*/true);
}

torch::Tensor ActFakeQuantImpl::observe_and_fake_quantize(const torch::Tensor& x, bool relu) {
  if (observer_enabled_) observe(x, relu);
  if (!fake_quant_enabled_) return x;
  TORCH_CHECK(calibrated(), "ActFakeQuant: fake quantization enabled before any observation");
  {
    torch::NoGradGuard no_grad;
    update_qparams();
  }
  return fake_quantize(x, relu);
}

void ActFakeQuantImpl::observe(const torch::Tensor& x, bool relu) {
  // The fused op's moving average, in float: the first batch sets the range.
  torch::NoGradGuard no_grad;
  const auto c = static_cast<float>(options.averaging_constant());
  if (running_min.device().is_cpu() && uses_fake_quant_kernel(x) &&
      x.is_non_overlapping_and_dense() && x.numel() > 0) {
    // In scalars, as LibTorch's CPU kernel does it: a step of QAT runs this per activation.
    auto [lo, hi] = dense_min_max(x);
    if (relu) {  // NaN stays NaN, as it would through torch::relu
      lo = lo < 0.0f ? 0.0f : lo;
      hi = hi < 0.0f ? 0.0f : hi;
    }
    float& rmin = *running_min.data_ptr<float>();
    float& rmax = *running_max.data_ptr<float>();
    rmin = std::isinf(rmin) ? lo : rmin + c * (lo - rmin);
    rmax = std::isinf(rmax) ? hi : rmax + c * (hi - rmax);
    return;
  }
  auto mm = torch::aminmax(x.detach());
  auto lo = std::get<0>(mm).reshape({1}).to(torch::kFloat);
  auto hi = std::get<1>(mm).reshape({1}).to(torch::kFloat);
  if (relu) {
    lo = torch::relu(lo);
    hi = torch::relu(hi);
  }
  running_min.copy_(
      torch::where(torch::isinf(running_min), lo, running_min + c * (lo - running_min)));
  running_max.copy_(
      torch::where(torch::isinf(running_max), hi, running_max + c * (hi - running_max)));
}

namespace {

/// max|w| / 127 (at least float eps): [out] per channel, [1] per tensor.
torch::Tensor weight_amax_scales(const torch::Tensor& weight, WeightQuant weights) {
  torch::NoGradGuard no_grad;
  auto a = weight.detach().abs();
  auto amax = (weights == WeightQuant::kPerTensor ? a.amax().reshape({1})
                                                  : a.reshape({weight.size(0), -1}).amax(1))
                  .to(torch::kFloat);
  return torch::clamp_min(amax / static_cast<float>(kWeightQuantMax),
                          std::numeric_limits<float>::epsilon());
}

}  // namespace

torch::Tensor weight_scales(const torch::Tensor& weight, WeightQuant weights) {
  auto s = weight_amax_scales(weight, weights);
  return weights == WeightQuant::kPerTensor ? s.expand({weight.size(0)}).contiguous() : s;
}

torch::Tensor fake_quantize_weight(const torch::Tensor& weight, WeightQuant weights) {
  if (uses_fake_quant_kernel(weight)) {
    return fake_quantize_weight_symmetric(weight, weights == WeightQuant::kPerTensor,
                                          kWeightQuantMax);
  }
  auto scales = weight_amax_scales(weight, weights);
  const auto int_options = torch::TensorOptions().dtype(torch::kInt).device(weight.device());
  if (weights == WeightQuant::kPerTensor) {
    // The tensor-qparams overload: no host sync for the scale on other devices.
    return torch::fake_quantize_per_tensor_affine(weight, scales, torch::zeros({1}, int_options),
                                                  kWeightQuantMin, kWeightQuantMax);
  }
  return torch::fake_quantize_per_channel_affine(weight, scales,
                                                 torch::zeros({weight.size(0)}, int_options), 0,
                                                 kWeightQuantMin, kWeightQuantMax);
}

std::pair<torch::Tensor, torch::Tensor> quantize_weight_codes(const torch::Tensor& weight,
                                                              WeightQuant weights) {
  torch::NoGradGuard no_grad;
  auto scales = weight_scales(weight, weights);
  auto fq = fake_quantize_weight(weight.detach(), weights);
  std::vector<int64_t> shape(weight.dim(), 1);
  shape[0] = -1;
  // fq = code * scale exactly up to float rounding, far below half a step.
  auto codes = torch::round(fq / scales.reshape(shape))
                   .clamp(kWeightQuantMin, kWeightQuantMax)
                   .to(torch::kChar)
                   .contiguous();
  return {codes, scales};
}

}  // namespace frostnas
