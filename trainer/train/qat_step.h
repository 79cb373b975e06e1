#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "trainer/data/data_loader.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/train/train_config.h"

namespace frostnas {

/// When a run trains in float and when it fake-quantizes, as a pure function of the step,
/// so that a resumed run recomputes it. StatAssist (docs/frostnet.md, "StatAssist"): float
/// with the GradBoost optimizer in warm-up for round(fp_warmup_epochs * steps_per_epoch)
/// steps, then fake quantization with GradBoost noise. Plain QAT fake-quantizes from step 0;
/// kNone never does (the optimizer stays in warm-up: no noise).
class QatSchedule {
 public:
  QatSchedule(QatScheme scheme, double fp_warmup_epochs, int64_t steps_per_epoch,
              int64_t freeze_observers_epoch = -1, int64_t freeze_bn_epoch = -1);

  /// First global step with fake quantization; -1: never.
  int64_t switch_step() const { return switch_step_; }
  bool qat_active_at(int64_t global_step) const;
  /// The network's mode at (epoch, global step), observer and BN freezing included.
  QatMode mode_at(int64_t epoch, int64_t global_step) const;
  /// Whether the GradBoost optimizer runs in warm-up (no noise) at `global_step`.
  bool gradboost_warmup_at(int64_t global_step) const;

 private:
  QatScheme scheme_;
  int64_t switch_step_ = -1;
  int64_t freeze_observers_epoch_;
  int64_t freeze_bn_epoch_;
};

/// Seeds torch's default generator for step `global_step` of random stream `stream`, so that
/// the step's randomness (GradBoost noise, dropout) is a function of (seed, stream, step) and
/// a resumed run draws what the uninterrupted one drew.
void seed_step(uint64_t seed, uint64_t stream, int64_t global_step);

/// What one training step did. `loss` is NaN when the loss (or an activation) was not
/// finite: the weights were then left untouched.
struct StepOutcome {
  double loss = 0;
  int64_t correct = 0;  ///< samples whose arg-max logit is their label
};

/// Options of train_step.
struct TrainStepOptions {
  double label_smoothing = 0.0;
  /// Clips the global gradient norm of `clip_params` to this before the update (0: off).
  double grad_clip = 0.0;
  std::vector<torch::Tensor> clip_params;
};

/// One optimizer step of `net` on `batch`: logits = forward(batch.x) [B, classes],
/// cross-entropy, zero_grad, backward, optional clipping, step. A non-finite loss, or a
/// LibTorch error raised while some parameter or buffer of `net` is non-finite (the fake
/// quantizer refuses an infinite range), returns a NaN loss without updating; other errors
/// propagate.
StepOutcome train_step(torch::nn::Module& net,
                       const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                       torch::optim::Optimizer& optimizer, const Batch& batch,
                       const TrainStepOptions& options = {});

/// Whether every parameter and floating-point buffer of `net` is finite (observer ranges,
/// which start at +-inf, excepted).
bool all_finite(torch::nn::Module& net);

}  // namespace frostnas
