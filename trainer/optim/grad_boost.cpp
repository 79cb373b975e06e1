#include "trainer/optim/grad_boost.h"

#include <torch/optim/serialize.h>

#include <cmath>

#include "trainer/optim/boost_kernel.h"

namespace frostnas {

namespace {

using torch::optim::OptimizerParamGroup;

// Serializes the fields every GradBoost options struct has (inside its serialize()).
#define FROSTNAS_SAVE_BOOST_OPTIONS()               \
  do {                                              \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);           \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay); \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta);         \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(clip_by);      \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(toss_coin);    \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(noise_decay);  \
  } while (false)
#define FROSTNAS_LOAD_BOOST_OPTIONS()                         \
  do {                                                        \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);           \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay); \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta);         \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, clip_by);      \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, toss_coin);      \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, noise_decay);  \
  } while (false)
#define FROSTNAS_SAVE_BOOST_STATE()                 \
  do {                                              \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);         \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(restart_step); \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_min);      \
    _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_max);      \
  } while (false)
#define FROSTNAS_LOAD_BOOST_STATE()                             \
  do {                                                          \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);          \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, restart_step);  \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_min); \
    _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_max); \
  } while (false)

template <class Options>
void check_options(const Options& o) {
  TORCH_CHECK(o.lr() >= 0, "Invalid learning rate: ", o.lr());
  TORCH_CHECK(o.weight_decay() >= 0, "Invalid weight_decay value: ", o.weight_decay());
  TORCH_CHECK(o.beta() >= 0 && o.beta() < 1, "Invalid GradBoost beta: ", o.beta());
  TORCH_CHECK(o.clip_by() >= 0, "Invalid clip_by value: ", o.clip_by());
  TORCH_CHECK(o.noise_decay() >= 0 && o.noise_decay() <= 1,
              "Invalid noise_decay value: ", o.noise_decay());
}

template <class Options>
void check_adam_options(const Options& o) {
  check_options(o);
  TORCH_CHECK(o.eps() >= 0, "Invalid epsilon value: ", o.eps());
  const auto [beta1, beta2] = o.betas();
  TORCH_CHECK(beta1 >= 0 && beta1 < 1, "Invalid beta parameter at index 0: ", beta1);
  TORCH_CHECK(beta2 >= 0 && beta2 < 1, "Invalid beta parameter at index 1: ", beta2);
}

// Updates exp_min / exp_max of `s` (whose step() is already incremented) and returns the
// gradient the plain update uses: `grad` in warm-up, `grad + noise` after it.
template <class State, class Options>
torch::Tensor boost(const torch::Tensor& grad, State& s, const Options& o, bool warmup) {
  BoostStep step;
  step.beta = o.beta();
  step.bias_correction = 1 - std::pow(o.beta(), static_cast<double>(s.step()));
  step.warmup = warmup;
  if (!warmup) {
    s.restart_step(s.restart_step() + 1);
    step.noise_scale = std::pow(1 - o.noise_decay(), static_cast<double>(s.restart_step()));
  }
  step.toss_coin = o.toss_coin();
  step.clip_by = o.clip_by();
  return boost_gradient(grad, s.exp_min(), s.exp_max(), step);
}

torch::Tensor zeros_as(const torch::Tensor& p) {
  return torch::zeros_like(p, torch::MemoryFormat::Preserve);
}

template <class Options>
std::vector<OptimizerParamGroup> checked(std::vector<OptimizerParamGroup> groups) {
  for (const auto& g : groups) {
    if (g.has_options()) check_options(static_cast<const Options&>(g.options()));
  }
  return groups;
}

// Evaluates the closure (with grad mode on) as LibTorch's optimizers do.
torch::Tensor run_closure(const torch::optim::Optimizer::LossClosure& closure) {
  if (closure == nullptr) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

constexpr const char* kWarmupKey = "gradboost_warmup";

}  // namespace

// ---- options and state serialization ----

QSGDOptions::QSGDOptions(double lr) : lr_(lr) {}
void QSGDOptions::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_OPTIONS();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(dampening);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(nesterov);
}
void QSGDOptions::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_OPTIONS();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, dampening);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, nesterov);
}

QAdamOptions::QAdamOptions(double lr) : lr_(lr) {}
void QAdamOptions::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_OPTIONS();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(amsgrad);
}
void QAdamOptions::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_OPTIONS();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, amsgrad);
}

QAdamWOptions::QAdamWOptions(double lr) : lr_(lr) {}
void QAdamWOptions::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_OPTIONS();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(amsgrad);
}
void QAdamWOptions::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_OPTIONS();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, amsgrad);
}

QRMSpropOptions::QRMSpropOptions(double lr) : lr_(lr) {}
void QRMSpropOptions::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_OPTIONS();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(alpha);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(centered);
}
void QRMSpropOptions::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_OPTIONS();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, alpha);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, centered);
}

void QSGDParamState::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_STATE();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_buffer);
}
void QSGDParamState::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_STATE();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, momentum_buffer);
}

void QAdamParamState::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_STATE();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_exp_avg_sq);
}
void QAdamParamState::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_STATE();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, max_exp_avg_sq);
}

void QRMSpropParamState::serialize(torch::serialize::OutputArchive& archive) const {
  FROSTNAS_SAVE_BOOST_STATE();
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(square_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_buffer);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(grad_avg);
}
void QRMSpropParamState::serialize(torch::serialize::InputArchive& archive) {
  FROSTNAS_LOAD_BOOST_STATE();
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, square_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, momentum_buffer);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, grad_avg);
}

// ---- GradBoostOptimizer ----

template <class State, class Options>
void GradBoostOptimizer::save_as(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<State, Options>(archive, *this);
  archive.write(kWarmupKey, torch::tensor(warmup_));
}

template <class State, class Options>
void GradBoostOptimizer::load_as(torch::serialize::InputArchive& archive) {
  torch::optim::serialize<State, Options>(archive, *this);
  torch::Tensor warmup;
  if (archive.try_read(kWarmupKey, warmup)) warmup_ = warmup.item<bool>();
}

template <class State, class Init>
State& GradBoostOptimizer::param_state(const torch::Tensor& p, const Init& init) {
  auto& slot = state_[c10::guts::to_string(p.unsafeGetTensorImpl())];
  if (!slot) {
    auto s = std::make_unique<State>();
    s->exp_min(zeros_as(p));
    s->exp_max(zeros_as(p));
    init(*s);
    slot = std::move(s);
  }
  return static_cast<State&>(*slot);
}

bool set_gradboost_warmup(torch::optim::Optimizer& optimizer, bool warmup) {
  auto* boosted = dynamic_cast<GradBoostOptimizer*>(&optimizer);
  if (boosted != nullptr) boosted->set_warmup(warmup);
  return boosted != nullptr;
}

// ---- QSGD (update as torch::optim::SGD) ----

QSGD::QSGD(std::vector<OptimizerParamGroup> param_groups, QSGDOptions defaults)
    : GradBoostOptimizer(checked<QSGDOptions>(std::move(param_groups)),
                         std::make_unique<QSGDOptions>(defaults)) {
  check_options(defaults);
  TORCH_CHECK(defaults.momentum() >= 0, "Invalid momentum value: ", defaults.momentum());
  TORCH_CHECK(!defaults.nesterov() || (defaults.momentum() > 0 && defaults.dampening() == 0),
              "Nesterov momentum requires a momentum and zero dampening");
}

torch::Tensor QSGD::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const QSGDOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& s = param_state<QSGDParamState>(p, [](QSGDParamState&) {});
      s.step(s.step() + 1);
      auto d_p = boost(p.grad(), s, o, warmup_);
      if (o.weight_decay() != 0) d_p = d_p.add(p, o.weight_decay());
      if (o.momentum() != 0) {
        auto& buf = s.momentum_buffer();
        if (!buf.defined()) {
          buf = torch::clone(d_p).detach();
        } else {
          buf.mul_(o.momentum()).add_(d_p, 1 - o.dampening());
        }
        d_p = o.nesterov() ? d_p.add(buf, o.momentum()) : buf;
      }
      p.add_(d_p, -o.lr());
    }
  }
  return loss;
}

void QSGD::save(torch::serialize::OutputArchive& archive) const {
  save_as<QSGDParamState, QSGDOptions>(archive);
}
void QSGD::load(torch::serialize::InputArchive& archive) {
  load_as<QSGDParamState, QSGDOptions>(archive);
}

// ---- QAdam / QAdamW (update as torch::optim::Adam / AdamW) ----

namespace {

template <class Options>
void adam_update(torch::Tensor& p, const torch::Tensor& grad, QAdamParamState& s,
                 const Options& o) {
  const auto [beta1, beta2] = o.betas();
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(s.step()));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(s.step()));
  s.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
  s.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  torch::Tensor denom;
  if (o.amsgrad()) {
    if (!s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(zeros_as(p));
    torch::max_out(s.max_exp_avg_sq(), s.exp_avg_sq(), s.max_exp_avg_sq());
    denom = (s.max_exp_avg_sq().sqrt() / std::sqrt(bias_correction2)).add_(o.eps());
  } else {
    denom = (s.exp_avg_sq().sqrt() / std::sqrt(bias_correction2)).add_(o.eps());
  }
  p.addcdiv_(s.exp_avg(), denom, -o.lr() / bias_correction1);
}

void init_adam_state(QAdamParamState& s, const torch::Tensor& p, bool amsgrad) {
  s.exp_avg(zeros_as(p));
  s.exp_avg_sq(zeros_as(p));
  if (amsgrad) s.max_exp_avg_sq(zeros_as(p));
}

}  // namespace

QAdam::QAdam(std::vector<OptimizerParamGroup> param_groups, QAdamOptions defaults)
    : GradBoostOptimizer(checked<QAdamOptions>(std::move(param_groups)),
                         std::make_unique<QAdamOptions>(defaults)) {
  check_adam_options(defaults);
}

torch::Tensor QAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const QAdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "QAdam does not support sparse gradients");
      auto& s = param_state<QAdamParamState>(
          p, [&](QAdamParamState& s) { init_adam_state(s, p, o.amsgrad()); });
      s.step(s.step() + 1);
      auto grad = boost(p.grad(), s, o, warmup_);
      if (o.weight_decay() != 0) grad = grad.add(p, o.weight_decay());
      adam_update(p, grad, s, o);
    }
  }
  return loss;
}

void QAdam::save(torch::serialize::OutputArchive& archive) const {
  save_as<QAdamParamState, QAdamOptions>(archive);
}
void QAdam::load(torch::serialize::InputArchive& archive) {
  load_as<QAdamParamState, QAdamOptions>(archive);
}

QAdamW::QAdamW(std::vector<OptimizerParamGroup> param_groups, QAdamWOptions defaults)
    : GradBoostOptimizer(checked<QAdamWOptions>(std::move(param_groups)),
                         std::make_unique<QAdamWOptions>(defaults)) {
  check_adam_options(defaults);
}

torch::Tensor QAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const QAdamWOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "QAdamW does not support sparse gradients");
      if (o.weight_decay() != 0) p.mul_(1 - o.lr() * o.weight_decay());
      auto& s = param_state<QAdamParamState>(
          p, [&](QAdamParamState& s) { init_adam_state(s, p, o.amsgrad()); });
      s.step(s.step() + 1);
      adam_update(p, boost(p.grad(), s, o, warmup_), s, o);
    }
  }
  return loss;
}

void QAdamW::save(torch::serialize::OutputArchive& archive) const {
  save_as<QAdamParamState, QAdamWOptions>(archive);
}
void QAdamW::load(torch::serialize::InputArchive& archive) {
  load_as<QAdamParamState, QAdamWOptions>(archive);
}

// ---- QRMSprop (update as torch::optim::RMSprop) ----

QRMSprop::QRMSprop(std::vector<OptimizerParamGroup> param_groups, QRMSpropOptions defaults)
    : GradBoostOptimizer(checked<QRMSpropOptions>(std::move(param_groups)),
                         std::make_unique<QRMSpropOptions>(defaults)) {
  check_options(defaults);
  TORCH_CHECK(defaults.eps() >= 0, "Invalid epsilon value: ", defaults.eps());
  TORCH_CHECK(defaults.momentum() >= 0, "Invalid momentum value: ", defaults.momentum());
  TORCH_CHECK(defaults.alpha() >= 0, "Invalid alpha value: ", defaults.alpha());
}

torch::Tensor QRMSprop::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const QRMSpropOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "QRMSprop does not support sparse gradients");
      auto& s = param_state<QRMSpropParamState>(p, [&](QRMSpropParamState& s) {
        s.square_avg(zeros_as(p));
        if (o.momentum() > 0) s.momentum_buffer(zeros_as(p));
        if (o.centered()) s.grad_avg(zeros_as(p));
      });
      s.step(s.step() + 1);
      auto grad = boost(p.grad(), s, o, warmup_);
      if (o.weight_decay() != 0) grad = grad.add(p, o.weight_decay());
      const double alpha = o.alpha();
      s.square_avg().mul_(alpha).addcmul_(grad, grad, 1 - alpha);
      torch::Tensor avg;
      if (o.centered()) {
        if (!s.grad_avg().defined()) s.grad_avg(zeros_as(p));
        s.grad_avg().mul_(alpha).add_(grad, 1 - alpha);
        avg = s.square_avg().addcmul(s.grad_avg(), s.grad_avg(), -1).sqrt_().add_(o.eps());
      } else {
        avg = s.square_avg().sqrt().add_(o.eps());
      }
      if (o.momentum() > 0) {
        if (!s.momentum_buffer().defined()) s.momentum_buffer(zeros_as(p));
        s.momentum_buffer().mul_(o.momentum()).addcdiv_(grad, avg);
        p.add_(s.momentum_buffer(), -o.lr());
      } else {
        p.addcdiv_(grad, avg, -o.lr());
      }
    }
  }
  return loss;
}

void QRMSprop::save(torch::serialize::OutputArchive& archive) const {
  save_as<QRMSpropParamState, QRMSpropOptions>(archive);
}
void QRMSprop::load(torch::serialize::InputArchive& archive) {
  load_as<QRMSpropParamState, QRMSpropOptions>(archive);
}

#undef FROSTNAS_SAVE_BOOST_OPTIONS
#undef FROSTNAS_LOAD_BOOST_OPTIONS
#undef FROSTNAS_SAVE_BOOST_STATE
#undef FROSTNAS_LOAD_BOOST_STATE

}  // namespace frostnas
