#pragma once

#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace frostnas {

// GradBoost optimizers (FrostNet; docs/frostnet.md, "GradBoost"): QSGD, QAdam, QAdamW and QRMSprop
// are LibTorch's SGD, Adam, AdamW and RMSprop with one extra term. Per parameter they keep
// `exp_min`, `exp_max` (zeros at start), `step` and `restart_step`; every step, with g the
// gradient and bc = 1 - beta^step:
//   exp_min = (beta * exp_min + (1 - beta) * min(exp_min, |g|)) / bc
//   exp_max = (beta * exp_max + (1 - beta) * max(exp_max, |g|)) / bc
// and outside warm-up restart_step += 1 and
//   g += clamp(|Laplace(0, 1)| * (exp_max - exp_min) * (1 - noise_decay)^restart_step
//              * Bernoulli(0.5) [toss_coin] * sign(g), -clip_by, clip_by) [clip_by > 0]
// before weight decay and the plain update. On the CPU the term runs as one fused, parallel
// pass per parameter whose noise is a function of one key drawn from torch's default
// generator (boost_kernel.h); elsewhere it runs as LibTorch ops drawing from the parameter
// device's generator. Either way `torch::manual_seed` makes runs reproducible, and
// `p.grad()` is left unchanged.

/// Options of QSGD: torch::optim::SGDOptions plus the GradBoost fields.
struct QSGDOptions : public torch::optim::OptimizerCloneableOptions<QSGDOptions> {
  QSGDOptions(double lr);  // NOLINT: LibTorch's loader constructs options from a number
  TORCH_ARG(double, lr);
  TORCH_ARG(double, momentum) = 0;
  TORCH_ARG(double, dampening) = 0;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, nesterov) = false;
  TORCH_ARG(double, beta) = 0.9;          ///< decay of exp_min / exp_max
  TORCH_ARG(double, clip_by) = 1e-3;      ///< noise clamp; 0 disables clamping
  TORCH_ARG(bool, toss_coin) = true;      ///< Bernoulli(0.5) mask on the noise
  TORCH_ARG(double, noise_decay) = 1e-2;  ///< noise scale (1 - noise_decay)^restart_step

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Options of QAdam: torch::optim::AdamOptions plus the GradBoost fields.
struct QAdamOptions : public torch::optim::OptimizerCloneableOptions<QAdamOptions> {
  QAdamOptions(double lr = 1e-3);  // NOLINT
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(bool, amsgrad) = false;
  TORCH_ARG(double, beta) = 0.9;
  TORCH_ARG(double, clip_by) = 1e-3;
  TORCH_ARG(bool, toss_coin) = true;
  TORCH_ARG(double, noise_decay) = 1e-2;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Options of QAdamW: torch::optim::AdamWOptions (decoupled decay, default 1e-2) plus GradBoost.
struct QAdamWOptions : public torch::optim::OptimizerCloneableOptions<QAdamWOptions> {
  QAdamWOptions(double lr = 1e-3);  // NOLINT
  TORCH_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 1e-2;
  TORCH_ARG(bool, amsgrad) = false;
  TORCH_ARG(double, beta) = 0.9;
  TORCH_ARG(double, clip_by) = 1e-3;
  TORCH_ARG(bool, toss_coin) = true;
  TORCH_ARG(double, noise_decay) = 1e-2;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Options of QRMSprop: torch::optim::RMSpropOptions plus the GradBoost fields.
struct QRMSpropOptions : public torch::optim::OptimizerCloneableOptions<QRMSpropOptions> {
  QRMSpropOptions(double lr = 1e-2);  // NOLINT
  TORCH_ARG(double, lr) = 1e-2;
  TORCH_ARG(double, alpha) = 0.99;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(double, momentum) = 0;
  TORCH_ARG(bool, centered) = false;
  TORCH_ARG(double, beta) = 0.9;
  TORCH_ARG(double, clip_by) = 1e-3;
  TORCH_ARG(bool, toss_coin) = true;
  TORCH_ARG(double, noise_decay) = 1e-2;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Per-parameter state of QSGD; tensors have the parameter's shape.
struct QSGDParamState : public torch::optim::OptimizerCloneableParamState<QSGDParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(int64_t, restart_step) = 0;
  TORCH_ARG(torch::Tensor, exp_min);
  TORCH_ARG(torch::Tensor, exp_max);
  TORCH_ARG(torch::Tensor, momentum_buffer) = {};  ///< undefined until the first step

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// Per-parameter state of QAdam and QAdamW; tensors have the parameter's shape.
struct QAdamParamState : public torch::optim::OptimizerCloneableParamState<QAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(int64_t, restart_step) = 0;
  TORCH_ARG(torch::Tensor, exp_min);
  TORCH_ARG(torch::Tensor, exp_max);
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_avg_sq);
  TORCH_ARG(torch::Tensor, max_exp_avg_sq) = {};  ///< amsgrad only

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// Per-parameter state of QRMSprop; tensors have the parameter's shape.
struct QRMSpropParamState : public torch::optim::OptimizerCloneableParamState<QRMSpropParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(int64_t, restart_step) = 0;
  TORCH_ARG(torch::Tensor, exp_min);
  TORCH_ARG(torch::Tensor, exp_max);
  TORCH_ARG(torch::Tensor, square_avg);
  TORCH_ARG(torch::Tensor, momentum_buffer) = {};  ///< momentum > 0 only
  TORCH_ARG(torch::Tensor, grad_avg) = {};         ///< centered only

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// Common base of the GradBoost optimizers: the StatAssist warm-up switch. Optimizers start
/// in warm-up (statistics accumulate, no noise, the update equals the plain optimizer's);
/// `set_warmup(false)` at the FP -> QAT switch keeps all state. Checkpoints (`torch::save` /
/// `torch::load` of the optimizer) hold the per-parameter state and the warm-up flag; like
/// every LibTorch optimizer, loading does not restore the param groups' options (lr etc.).
class GradBoostOptimizer : public torch::optim::Optimizer {
 public:
  using torch::optim::Optimizer::Optimizer;
  void set_warmup(bool warmup) { warmup_ = warmup; }
  bool warmup() const { return warmup_; }

 protected:
  template <class State, class Options>
  void save_as(torch::serialize::OutputArchive& archive) const;
  template <class State, class Options>
  void load_as(torch::serialize::InputArchive& archive);
  /// The state of `p`, created with zero exp_min / exp_max (and `init` for the rest) if new.
  template <class State, class Init>
  State& param_state(const torch::Tensor& p, const Init& init);

  bool warmup_ = true;
};

/// SGD (momentum, dampening, Nesterov, L2 weight decay) with GradBoost noise.
class QSGD : public GradBoostOptimizer {
 public:
  QSGD(std::vector<torch::optim::OptimizerParamGroup> param_groups, QSGDOptions defaults);
  QSGD(std::vector<torch::Tensor> params, QSGDOptions defaults)
      : QSGD({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

/// Adam (L2 weight decay, optional AMSGrad) with GradBoost noise.
class QAdam : public GradBoostOptimizer {
 public:
  QAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups, QAdamOptions defaults = {});
  QAdam(std::vector<torch::Tensor> params, QAdamOptions defaults = {})
      : QAdam({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

/// AdamW (decoupled weight decay, optional AMSGrad) with GradBoost noise.
class QAdamW : public GradBoostOptimizer {
 public:
  QAdamW(std::vector<torch::optim::OptimizerParamGroup> param_groups, QAdamWOptions defaults = {});
  QAdamW(std::vector<torch::Tensor> params, QAdamWOptions defaults = {})
      : QAdamW({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

/// RMSprop (optional centering and momentum, L2 weight decay) with GradBoost noise.
class QRMSprop : public GradBoostOptimizer {
 public:
  QRMSprop(std::vector<torch::optim::OptimizerParamGroup> param_groups,
           QRMSpropOptions defaults = {});
  QRMSprop(std::vector<torch::Tensor> params, QRMSpropOptions defaults = {})
      : QRMSprop({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

/// Sets the warm-up mode if `optimizer` is a GradBoost optimizer; returns whether it is one.
bool set_gradboost_warmup(torch::optim::Optimizer& optimizer, bool warmup);

}  // namespace frostnas
