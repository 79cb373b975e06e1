#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "trainer/optim/param_groups.h"

namespace frostnas {

/// Hyper-parameters of every optimizer make_optimizer builds; each optimizer reads the fields
/// it has. Defaults are the official FrostNet classification setting (QSGD, lr 5e-3, weight
/// decay 1e-5, Nesterov momentum 0.9; RMSprop alpha 0.9 and momentum 0.9 as in the official
/// script, LibTorch's defaults elsewhere).
struct OptimizerConfig {
  std::string name = "qsgd";  ///< one of optimizer_names()
  double lr = 5e-3;
  double weight_decay = 1e-5;  ///< L2 (decoupled for adamw / qadamw)
  double momentum = 0.9;       ///< sgd, rmsprop
  double dampening = 0.0;      ///< sgd
  bool nesterov = true;        ///< sgd
  double beta1 = 0.9;          ///< adam, adamw
  double beta2 = 0.999;        ///< adam, adamw
  double eps = 1e-8;           ///< adam, adamw, rmsprop
  bool amsgrad = false;        ///< adam, adamw
  double alpha = 0.9;          ///< rmsprop smoothing constant
  bool centered = false;       ///< rmsprop
  // GradBoost (q* optimizers), docs/frostnet.md, "GradBoost".
  double boost_beta = 0.9;    ///< decay of the gradient statistics exp_min / exp_max
  double clip_by = 1e-3;      ///< noise clamp; 0 disables clamping
  bool toss_coin = true;      ///< Bernoulli(0.5) mask on the noise
  double noise_decay = 1e-2;  ///< noise scale (1 - noise_decay)^restart_step
};

/// The registered optimizer names: qsgd, qadam, qadamw, qrmsprop, sgd, adam, adamw, rmsprop.
const std::vector<std::string>& optimizer_names();

/// Builds the optimizer `config.name` with one param group per spec (weight decay scaled by
/// the spec). The q* optimizers are GradBoostOptimizer subclasses that start in warm-up mode
/// (see set_gradboost_warmup). Throws InputError naming the field for an unknown name (listing
/// the known ones) or an out-of-range value.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<ParamGroupSpec>& groups);

/// Same with a single param group holding `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        std::vector<torch::Tensor> params);

}  // namespace frostnas
