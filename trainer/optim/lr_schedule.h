#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace frostnas {

/// A learning-rate schedule by name. Lengths are counted in "units" of `steps_per_unit`
/// optimizer steps: 1 for steps, the number of batches per epoch for epochs. The lr is still
/// set every step (warm-up and cosine move within an epoch; step decays at unit boundaries).
struct ScheduleConfig {
  std::string name = "cosine";      ///< one of schedule_names(): constant, cosine, step
  int64_t total = 0;                ///< cosine: units until lr reaches min_lr (warm-up included)
  int64_t warmup = 0;               ///< linear warm-up units (lr ramps from base/W up to base)
  double min_lr = 0.0;              ///< cosine: final lr (absolute)
  double gamma = 0.1;               ///< step: factor applied at each milestone
  std::vector<int64_t> milestones;  ///< step: increasing units where lr *= gamma
  int64_t steps_per_unit = 1;       ///< optimizer steps per unit
};

/// The learning rate as a function of the optimizer step, for any group's base lr.
class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  /// lr of a param group whose base lr is `base_lr` at optimizer step `step` (0-based: the
  /// lr the step-th call of optimizer.step() uses). Warm-up step t < W (W = warmup steps)
  /// gives base_lr * (t + 1) / W.
  virtual double lr(double base_lr, int64_t step) const = 0;
};

/// The registered schedule names: constant, cosine, step.
const std::vector<std::string>& schedule_names();

/// Builds the schedule `config.name`:
///  - constant: base_lr after warm-up;
///  - cosine:   min_lr + (base_lr - min_lr) * (1 + cos(pi * (t - W) / (T - W))) / 2 for
///              W <= t < T, min_lr from T on (T = total steps, needs total > warmup);
///  - step:     base_lr * gamma^(number of milestones <= t) after warm-up.
/// Throws InputError naming the field for an unknown name (listing the known ones) or bad
/// values.
std::unique_ptr<LrSchedule> make_schedule(const ScheduleConfig& config);

/// Applies a schedule to every param group of an optimizer, scaling each group's base lr.
/// The base lrs are the groups' lrs when the scheduler is constructed: build it before
/// loading a checkpoint, then call set_step with the resumed step count.
class LrScheduler {
 public:
  LrScheduler(torch::optim::Optimizer& optimizer, std::unique_ptr<LrSchedule> schedule);
  /// Sets every group's lr for optimizer step `step` (call before optimizer.step());
  /// returns the first group's lr.
  double set_step(int64_t step);
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 private:
  torch::optim::Optimizer* optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::vector<double> base_lrs_;
};

}  // namespace frostnas
