#pragma once

#include <torch/torch.h>

#include "trainer/quant/qat_mode.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Options of a per-tensor affine activation fake quantizer.
struct ActFakeQuantOptions {
  /// Code range the observer maps [min, max] onto (0..127 oneDNN, 0..255 QNNPACK).
  TORCH_ARG(int64_t, quant_min) = 0;
  TORCH_ARG(int64_t, quant_max) = 127;
  /// Moving-average constant of the min/max observer (PyTorch default QAT: 0.01).
  TORCH_ARG(double, averaging_constant) = 0.01;
  /// Saturate fake-quantized values to the quint8 range 0..255 (what every INT8 kernel
  /// does with its output) instead of quant_max. Only matters when quant_max < 255; off
  /// reproduces PyTorch's reduce_range QAT, which clips at quant_max although the INT8
  /// model does not.
  TORCH_ARG(bool, clamp_to_dtype) = true;
};

/// Options for activations of a model trained for `engine`.
ActFakeQuantOptions act_fake_quant_options(QuantEngine engine);

/// Moving-average min/max observer + per-tensor affine fake quantization, as PyTorch's
/// FusedMovingAvgObsFakeQuantize (torch::fused_moving_avg_obs_fake_quant): the first
/// observed batch sets min/max, later ones move them by averaging_constant; scale and
/// zero point follow ChooseQuantizationParams over [min(min, 0), max(max, 0)].
/// Buffers: running_min, running_max ([1] float, +inf / -inf until observed),
/// scale ([1] float), zero_point ([1] int32). Input any shape -> same shape.
class ActFakeQuantImpl : public torch::nn::Module, public QatModeTarget {
 public:
  explicit ActFakeQuantImpl(const ActFakeQuantOptions& options = {});
  torch::Tensor forward(const torch::Tensor& x);
  /// forward(torch::relu(x)), values, buffers and gradients, with the ReLU fused into the
  /// fake quantization pass on the CPU.
  torch::Tensor relu_forward(const torch::Tensor& x);

  void enable_observer(bool on) { observer_enabled_ = on; }
  void enable_fake_quant(bool on) { fake_quant_enabled_ = on; }
  bool observer_enabled() const { return observer_enabled_; }
  bool fake_quant_enabled() const { return fake_quant_enabled_; }
  void set_qat_mode(const QatMode& mode) override;

  /// Whether the observer has seen at least one batch.
  bool calibrated() const;
  /// Scale and zero point of the current running min/max (also stored into the buffers):
  /// on the CPU by the ChooseQuantizationParams that fused_moving_avg_obs_fake_quant
  /// calls, elsewhere by that op itself.
  /// Throws (TORCH_CHECK) when not calibrated.
  QParams qparams();
  /// Fake-quantizes `x` (relu(x) with `relu`, fused into the kernel's pass on the CPU)
  /// with the current qparams without observing (used to put the pooled features back on
  /// the head's grid, as the quantized average pool does).
  torch::Tensor fake_quantize(const torch::Tensor& x, bool relu = false);

  ActFakeQuantOptions options;
  torch::Tensor running_min, running_max, scale, zero_point;

 private:
  bool fused_path() const;
  /// Moves running_min / running_max towards the range of x (of relu(x) with `relu`).
  void observe(const torch::Tensor& x, bool relu = false);
  /// The unfused path of forward / relu_forward: observe, update qparams, fake-quantize.
  torch::Tensor observe_and_fake_quantize(const torch::Tensor& x, bool relu);
  void update_qparams();
  torch::Tensor flag(bool on, const torch::Device& device);

  bool observer_enabled_ = false;
  bool fake_quant_enabled_ = false;
  torch::Tensor on_, off_;  ///< cached int flags for the fused op, on the last device
};
TORCH_MODULE(ActFakeQuant);

/// Symmetric weight scales, float32 [out], not differentiated (at least float eps):
/// per channel max|w_c| / 127 over dim 0, or per tensor max|w| / 127 repeated for every
/// output channel.
torch::Tensor weight_scales(const torch::Tensor& weight,
                            WeightQuant weights = WeightQuant::kPerChannel);
/// Symmetric int8 fake quantization of a weight [out, ...] with codes -127..127 and zero
/// point 0 (straight-through gradient), per channel or with one scale for the tensor.
torch::Tensor fake_quantize_weight(const torch::Tensor& weight,
                                   WeightQuant weights = WeightQuant::kPerChannel);
/// The int8 codes of fake_quantize_weight(weight, weights): kChar [out, ...], and its
/// scales [out] (all equal per tensor).
std::pair<torch::Tensor, torch::Tensor> quantize_weight_codes(
    const torch::Tensor& weight, WeightQuant weights = WeightQuant::kPerChannel);

}  // namespace frostnas
