#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace frostnas {

/// Which code runs the GradBoost term (statistics and noise) of the GradBoost optimizers.
/// kFused is one parallel pass over each parameter on the CPU for float32 tensors (others fall
/// back to kReference); kReference is the same formula as a sequence of LibTorch tensor ops.
enum class BoostKernel { kFused, kReference };

/// Selects the kernel for the whole process (default kFused). For tests and benchmarks that
/// compare the two; both implement the formula in grad_boost.h.
void set_boost_kernel(BoostKernel kernel);
BoostKernel boost_kernel();

/// The constants of one GradBoost step of one parameter.
struct BoostStep {
  double beta = 0.9;             ///< decay of exp_min / exp_max
  double bias_correction = 1.0;  ///< 1 - beta^step
  bool warmup = true;            ///< statistics only, no noise
  double noise_scale = 1.0;      ///< (1 - noise_decay)^restart_step
  bool toss_coin = true;
  double clip_by = 0.0;  ///< 0: no clamp
  uint64_t key = 0;      ///< the fused kernel's noise key (see boost_noise_draw)
};

/// The fused kernel's unit noise for element `index` (in memory order) of a parameter:
/// `magnitude` ~ |Laplace(0, 1)| = Exponential(1) and `keep` ~ Bernoulli(0.5). Both are
/// functions of (key, index) alone (SplitMix64 of the key advanced by index + 1), so a draw
/// does not depend on the thread count or on how the loop is split.
struct BoostNoiseDraw {
  float magnitude = 0;
  bool keep = false;
};
BoostNoiseDraw boost_noise_draw(uint64_t key, int64_t index);

/// One 64-bit key from torch's default CPU generator (so `torch::manual_seed` and the
/// checkpointed generator state make the noise reproducible); one per parameter and step.
uint64_t draw_boost_noise_key();

/// Whether the fused kernel can run on these tensors: float32 on the CPU, the same sizes and
/// strides, dense and non-overlapping.
bool can_fuse_boost(const torch::Tensor& grad, const torch::Tensor& exp_min,
                    const torch::Tensor& exp_max);

/// Updates `exp_min` / `exp_max` in place from `grad` and returns the gradient the plain
/// update uses: `grad` itself in warm-up, otherwise a new tensor grad + noise (grad's shape).
/// Runs the fused kernel when selected and can_fuse_boost holds, the reference otherwise.
torch::Tensor boost_gradient(const torch::Tensor& grad, torch::Tensor& exp_min,
                             torch::Tensor& exp_max, const BoostStep& step);

}  // namespace frostnas
