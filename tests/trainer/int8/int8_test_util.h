#pragma once

#include <torch/torch.h>

#include "space/net_spec.h"
#include "space/resolved_net.h"
#include "tests/common/tiny_nets.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_block.h"
#include "trainer/quant/qat_net.h"

namespace frostnas::testing {

/// A QatNet of `spec` (weights quantized as `weights`) with perturbed BN, QAT-trained 4 seeded
/// SGD steps on random batches of 8 against random labels, then observers and BN frozen, in
/// eval mode.
inline QatNet briefly_trained_qat_net(const NetSpec& spec, QuantEngine engine, uint64_t seed,
                                      WeightQuant weights = WeightQuant::kPerChannel) {
  torch::manual_seed(seed);
  QatNet net(spec, engine, weights);
  perturb_bn(*net, seed + 1);
  torch::manual_seed(seed + 2);
  net->enable_qat();
  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int i = 0; i < 4; ++i) {
    auto x = torch::randn({8, spec.in_channels, spec.input_size, spec.input_size});
    auto loss = torch::nn::functional::cross_entropy(net->forward(x),
                                                     torch::randint(0, spec.num_classes, {8}));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  net->freeze_observers();
  net->freeze_bn();
  net->eval();
  return net;
}

/// QAT-trains `model` (preceded by `input_fq`) a few SGD steps on random data against
/// random targets, then freezes observers and BN and puts both in eval mode.
template <class Model>
void qat_train_and_freeze(Model& model, ActFakeQuantImpl& input_fq,
                          const std::vector<int64_t>& input_shape, int steps, uint64_t seed) {
  torch::manual_seed(seed);
  apply_qat_mode(*model, QatMode::qat());
  input_fq.set_qat_mode(QatMode::qat());
  model->train();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  for (int i = 0; i < steps; ++i) {
    auto x = torch::randn(input_shape);
    auto y = model->forward(input_fq.forward(x));
    auto loss = (y - torch::randn_like(y)).pow(2).mean();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  const QatMode frozen{true, true, false, true};
  apply_qat_mode(*model, frozen);
  input_fq.set_qat_mode(frozen);
  model->eval();
}

}  // namespace frostnas::testing
