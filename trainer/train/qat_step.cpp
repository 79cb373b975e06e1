#include "trainer/train/qat_step.h"

#include <cmath>
#include <limits>

#include "common/random.h"

namespace frostnas {

QatSchedule::QatSchedule(QatScheme scheme, double fp_warmup_epochs, int64_t steps_per_epoch,
                         int64_t freeze_observers_epoch, int64_t freeze_bn_epoch)
    : scheme_(scheme),
      freeze_observers_epoch_(freeze_observers_epoch),
      freeze_bn_epoch_(freeze_bn_epoch) {
  if (scheme == QatScheme::kStatAssist)
    switch_step_ = std::llround(fp_warmup_epochs * static_cast<double>(steps_per_epoch));
  if (scheme == QatScheme::kPlain) switch_step_ = 0;
}

bool QatSchedule::qat_active_at(int64_t global_step) const {
  return switch_step_ >= 0 && global_step >= switch_step_;
}

QatMode QatSchedule::mode_at(int64_t epoch, int64_t global_step) const {
  QatMode m = QatMode::float_mode();
  if (qat_active_at(global_step)) {
    m = QatMode::qat();
    if (freeze_observers_epoch_ >= 0 && epoch >= freeze_observers_epoch_) m.observers = false;
  }
  if (freeze_bn_epoch_ >= 0 && epoch >= freeze_bn_epoch_) m.bn_frozen = true;
  return m;
}

bool QatSchedule::gradboost_warmup_at(int64_t global_step) const {
  if (scheme_ == QatScheme::kStatAssist) return !qat_active_at(global_step);
  return scheme_ == QatScheme::kNone;
}

void seed_step(uint64_t seed, uint64_t stream, int64_t global_step) {
  torch::manual_seed(mix_seed(mix_seed(seed, stream), static_cast<uint64_t>(global_step)));
}

bool all_finite(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net.parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) return false;
  }
  for (const auto& item : net.named_buffers()) {
    const auto& b = item.value();
    if (item.key().find("running_m") != std::string::npos && b.numel() == 1) continue;
    if (b.is_floating_point() && !torch::isfinite(b).all().item<bool>()) return false;
  }
  return true;
}

StepOutcome train_step(torch::nn::Module& net,
                       const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                       torch::optim::Optimizer& optimizer, const Batch& batch,
                       const TrainStepOptions& options) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  torch::Tensor logits, loss;
  StepOutcome out;
  try {
    logits = forward(batch.x);
    loss = torch::nn::functional::cross_entropy(
        logits, batch.y,
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options.label_smoothing));
    out.loss = loss.item<double>();
  } catch (const c10::Error&) {
    // Non-finite activations make the observers' range invalid and the fake-quant op
    // throws before a loss exists: that is divergence too.
    if (all_finite(net)) throw;
    out.loss = kNaN;
  }
  if (!std::isfinite(out.loss)) return {kNaN, 0};
  optimizer.zero_grad();
  loss.backward();
  if (options.grad_clip > 0)
    torch::nn::utils::clip_grad_norm_(options.clip_params, options.grad_clip);
  optimizer.step();
  out.correct = logits.detach().argmax(1).eq(batch.y).sum().item<int64_t>();
  return out;
}

}  // namespace frostnas
