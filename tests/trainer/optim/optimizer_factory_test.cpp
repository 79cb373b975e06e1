#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/optimizer_factory.h"
#include "trainer/optim/param_groups.h"

namespace frostnas {
namespace {

std::string error_of(const OptimizerConfig& config) {
  try {
    make_optimizer(config, {torch::zeros({2}, torch::requires_grad())});
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::set<const void*> impls(const std::vector<torch::Tensor>& ts) {
  std::set<const void*> out;
  for (const auto& t : ts) out.insert(t.unsafeGetTensorImpl());
  return out;
}

TEST(OptimizerFactory, RejectsUnknownNameListingKnownOnes) {
  OptimizerConfig c;
  c.name = "lamb";
  EXPECT_EQ(error_of(c),
            "optimizer.name: unknown optimizer \"lamb\" (known: qsgd, qadam, qadamw, qrmsprop, "
            "sgd, adam, adamw, rmsprop)");
}

TEST(OptimizerFactory, RejectsBadValuesNamingTheField) {
  OptimizerConfig c;
  c.lr = -1;
  EXPECT_EQ(error_of(c), "optimizer.lr: -1 is out of range (allowed: >= 0)");
  c = OptimizerConfig{};
  c.noise_decay = 2;
  EXPECT_EQ(error_of(c), "optimizer.noise_decay: 2 is out of range (allowed: [0, 1])");
  c = OptimizerConfig{};
  c.momentum = 0;  // Nesterov stays on
  EXPECT_EQ(error_of(c),
            "optimizer.nesterov: Nesterov momentum needs momentum > 0 and dampening = 0");
  c.name = "adam";  // momentum and Nesterov do not apply
  EXPECT_EQ(error_of(c), "no error");
}

TEST(OptimizerFactory, BuildsEveryRegisteredOptimizer) {
  auto p = torch::zeros({2}, torch::requires_grad());
  for (const auto& name : optimizer_names()) {
    OptimizerConfig c;
    c.name = name;
    auto opt = make_optimizer(c, {p});
    const bool boosted = dynamic_cast<GradBoostOptimizer*>(opt.get()) != nullptr;
    EXPECT_EQ(boosted, name[0] == 'q') << name;
    EXPECT_DOUBLE_EQ(opt->param_groups()[0].options().get_lr(), 5e-3) << name;
  }
  OptimizerConfig c;
  c.name = "rmsprop";
  auto rms = make_optimizer(c, {p});
  ASSERT_NE(dynamic_cast<torch::optim::RMSprop*>(rms.get()), nullptr);
  const auto& o = static_cast<const torch::optim::RMSpropOptions&>(rms->defaults());
  EXPECT_DOUBLE_EQ(o.alpha(), 0.9);
  EXPECT_DOUBLE_EQ(o.momentum(), 0.9);
}

TEST(OptimizerFactory, DefaultsAreOfficialQsgd) {
  auto p = torch::zeros({2}, torch::requires_grad());
  auto opt = make_optimizer(OptimizerConfig{}, {p});
  ASSERT_NE(dynamic_cast<QSGD*>(opt.get()), nullptr);
  const auto& o = static_cast<const QSGDOptions&>(opt->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(o.lr(), 5e-3);
  EXPECT_DOUBLE_EQ(o.momentum(), 0.9);
  EXPECT_TRUE(o.nesterov());
  EXPECT_DOUBLE_EQ(o.weight_decay(), 1e-5);
  EXPECT_DOUBLE_EQ(o.beta(), 0.9);
  EXPECT_DOUBLE_EQ(o.clip_by(), 1e-3);
  EXPECT_TRUE(o.toss_coin());
  EXPECT_DOUBLE_EQ(o.noise_decay(), 1e-2);
}

struct TinyNet : torch::nn::Module {
  TinyNet() {
    stem = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)));
    dense = register_module("dense", torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 8, 1)));
    dw = register_module(
        "dw", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3).groups(8).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(8));
    fc = register_module("fc", torch::nn::Linear(8, 2));
    raw_dw = register_parameter("raw_dw", torch::randn({6, 1, 3, 3}));
  }
  torch::nn::Conv2d stem{nullptr}, dense{nullptr}, dw{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
  torch::Tensor raw_dw;
};

TEST(ParamGroups, DepthwiseWeightsGetNoWeightDecay) {
  TinyNet net;
  const auto groups = split_weight_decay(net);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].name, "decay");
  EXPECT_EQ(groups[1].name, "depthwise");
  EXPECT_EQ(groups[2].name, "other");
  // The 1-input-channel stem has size(1) == 1 but groups == 1: a dense conv.
  EXPECT_EQ(impls(groups[0].params), impls({net.stem->weight, net.dense->weight}));
  EXPECT_EQ(impls(groups[1].params), impls({net.dw->weight, net.raw_dw}));
  EXPECT_EQ(impls(groups[2].params), impls({net.stem->bias, net.dense->bias, net.bn->weight,
                                            net.bn->bias, net.fc->weight, net.fc->bias}));
  EXPECT_DOUBLE_EQ(groups[1].weight_decay_scale, 0.0);
  EXPECT_DOUBLE_EQ(groups[2].weight_decay_scale, 0.01);

  OptimizerConfig c;
  c.weight_decay = 1e-4;
  auto opt = make_optimizer(c, groups);
  ASSERT_EQ(opt->param_groups().size(), 3u);
  const double expected[] = {1e-4, 0.0, 1e-6};
  for (size_t i = 0; i < 3; ++i) {
    const auto& o = static_cast<const QSGDOptions&>(opt->param_groups()[i].options());
    EXPECT_DOUBLE_EQ(o.weight_decay(), expected[i]) << i;
  }
  EXPECT_TRUE(is_depthwise_weight(torch::zeros({4, 1, 3, 3})));
  EXPECT_FALSE(is_depthwise_weight(torch::zeros({1, 1, 3, 3})));
  EXPECT_FALSE(is_depthwise_weight(torch::zeros({4, 2, 3, 3})));
}

}  // namespace
}  // namespace frostnas
