#include "trainer/optim/optimizer_factory.h"

#include <functional>
#include <sstream>
#include <utility>

#include "common/error.h"
#include "common/json_reader.h"
#include "trainer/optim/grad_boost.h"

namespace frostnas {

namespace {

using torch::optim::OptimizerParamGroup;
using Groups = std::vector<ParamGroupSpec>;
using OptimizerFactory =
    std::function<std::unique_ptr<torch::optim::Optimizer>(const OptimizerConfig&, const Groups&)>;

// One param group per spec, each with a copy of `defaults` whose weight decay is scaled.
template <class Optim, class Options>
std::unique_ptr<torch::optim::Optimizer> build(const Groups& specs, const Options& defaults) {
  std::vector<OptimizerParamGroup> groups;
  for (const auto& spec : specs) {
    auto options = std::make_unique<Options>(defaults);
    options->weight_decay(defaults.weight_decay() * spec.weight_decay_scale);
    groups.emplace_back(spec.params, std::move(options));
  }
  return std::make_unique<Optim>(std::move(groups), defaults);
}

template <class Options>
Options sgd_options(const OptimizerConfig& c) {
  return Options(c.lr)
      .momentum(c.momentum)
      .dampening(c.dampening)
      .nesterov(c.nesterov)
      .weight_decay(c.weight_decay);
}

template <class Options>
Options adam_options(const OptimizerConfig& c) {
  return Options(c.lr)
      .betas(std::make_tuple(c.beta1, c.beta2))
      .eps(c.eps)
      .weight_decay(c.weight_decay)
      .amsgrad(c.amsgrad);
}

template <class Options>
Options rmsprop_options(const OptimizerConfig& c) {
  return Options(c.lr)
      .alpha(c.alpha)
      .eps(c.eps)
      .weight_decay(c.weight_decay)
      .momentum(c.momentum)
      .centered(c.centered);
}

template <class Options>
Options boosted(Options o, const OptimizerConfig& c) {
  o.beta(c.boost_beta);
  o.clip_by(c.clip_by);
  o.toss_coin(c.toss_coin);
  o.noise_decay(c.noise_decay);
  return o;
}

// In the order the error message lists them.
const std::vector<std::pair<std::string, OptimizerFactory>>& optimizer_registry() {
  namespace o = torch::optim;
  static const std::vector<std::pair<std::string, OptimizerFactory>> entries = {
      {"qsgd",
       [](auto& c, auto& g) { return build<QSGD>(g, boosted(sgd_options<QSGDOptions>(c), c)); }},
      {"qadam",
       [](auto& c, auto& g) { return build<QAdam>(g, boosted(adam_options<QAdamOptions>(c), c)); }},
      {"qadamw",
       [](auto& c, auto& g) {
         return build<QAdamW>(g, boosted(adam_options<QAdamWOptions>(c), c));
       }},
      {"qrmsprop",
       [](auto& c, auto& g) {
         return build<QRMSprop>(g, boosted(rmsprop_options<QRMSpropOptions>(c), c));
       }},
      {"sgd", [](auto& c, auto& g) { return build<o::SGD>(g, sgd_options<o::SGDOptions>(c)); }},
      {"adam", [](auto& c, auto& g) { return build<o::Adam>(g, adam_options<o::AdamOptions>(c)); }},
      {"adamw",
       [](auto& c, auto& g) { return build<o::AdamW>(g, adam_options<o::AdamWOptions>(c)); }},
      {"rmsprop",
       [](auto& c, auto& g) {
         return build<o::RMSprop>(g, rmsprop_options<o::RMSpropOptions>(c));
       }},
  };
  return entries;
}

void require(bool ok, const char* field, double value, const char* allowed) {
  if (ok) return;
  std::ostringstream msg;
  msg << "optimizer." << field << ": " << value << " is out of range (allowed: " << allowed << ")";
  throw InputError(msg.str());
}

void validate(const OptimizerConfig& c) {
  require(c.lr >= 0, "lr", c.lr, ">= 0");
  require(c.weight_decay >= 0, "weight_decay", c.weight_decay, ">= 0");
  require(c.momentum >= 0, "momentum", c.momentum, ">= 0");
  require(c.dampening >= 0 && c.dampening <= 1, "dampening", c.dampening, "[0, 1]");
  require(c.beta1 >= 0 && c.beta1 < 1, "beta1", c.beta1, "[0, 1)");
  require(c.beta2 >= 0 && c.beta2 < 1, "beta2", c.beta2, "[0, 1)");
  require(c.eps >= 0, "eps", c.eps, ">= 0");
  require(c.alpha >= 0 && c.alpha <= 1, "alpha", c.alpha, "[0, 1]");
  require(c.boost_beta >= 0 && c.boost_beta < 1, "boost_beta", c.boost_beta, "[0, 1)");
  require(c.clip_by >= 0, "clip_by", c.clip_by, ">= 0 (0: no clamping)");
  require(c.noise_decay >= 0 && c.noise_decay <= 1, "noise_decay", c.noise_decay, "[0, 1]");
  const bool sgd = c.name == "sgd" || c.name == "qsgd";
  if (sgd && c.nesterov && (c.momentum <= 0 || c.dampening != 0)) {
    throw InputError("optimizer.nesterov: Nesterov momentum needs momentum > 0 and dampening = 0");
  }
}

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& entry : optimizer_registry()) v.push_back(entry.first);
    return v;
  }();
  return names;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<ParamGroupSpec>& groups) {
  for (const auto& entry : optimizer_registry()) {
    if (entry.first != config.name) continue;
    validate(config);
    if (groups.empty()) throw InputError("optimizer: no parameter groups to optimize");
    return entry.second(config, groups);
  }
  throw InputError("optimizer.name: unknown optimizer \"" + config.name +
                   "\" (known: " + join_strings(optimizer_names()) + ")");
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        std::vector<torch::Tensor> params) {
  return make_optimizer(config, std::vector<ParamGroupSpec>{{"all", std::move(params), 1.0}});
}

}  // namespace frostnas
