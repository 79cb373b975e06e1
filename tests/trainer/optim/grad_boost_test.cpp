#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "trainer/optim/boost_kernel.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/optimizer_factory.h"

namespace frostnas {
namespace {

std::string key_of(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

template <class State>
const State& state_of(const torch::optim::Optimizer& opt, const torch::Tensor& p) {
  return static_cast<const State&>(*opt.state().at(key_of(p)));
}

torch::Tensor leaf(std::vector<float> values) { return torch::tensor(values).requires_grad_(true); }

void set_grad(torch::Tensor& p, std::vector<float> values) {
  p.mutable_grad() = torch::tensor(values);
}

// A small non-quadratic loss so that gradients change from step to step.
torch::Tensor loss_of(const std::vector<torch::Tensor>& params) {
  auto loss = torch::zeros({});
  for (size_t i = 0; i < params.size(); ++i) {
    loss = loss + (params[i] * params[i] * (1.0 + i)).sum() + torch::sin(3 * params[i]).sum();
  }
  return loss;
}

std::vector<torch::Tensor> make_params(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({2, 3}).requires_grad_(true), torch::randn({4}).requires_grad_(true),
          torch::randn({2, 1, 2, 2}).requires_grad_(true)};
}

std::vector<ParamGroupSpec> two_groups(const std::vector<torch::Tensor>& p) {
  return {{"decay", {p[0], p[2]}, 1.0}, {"other", {p[1]}, 0.01}};
}

void run_steps(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params, int n) {
  for (int i = 0; i < n; ++i) {
    opt.step([&] {
      opt.zero_grad();
      auto loss = loss_of(params);
      loss.backward();
      return loss;
    });
  }
}

TEST(GradBoost, HandComputedStatisticsOverTwoSteps) {
  auto p = leaf({0, 0, 0});
  QSGD opt({p}, QSGDOptions(0.0));  // lr 0: only the statistics move
  set_grad(p, {1, -2, 0.5});
  opt.step();
  const auto& s = state_of<QSGDParamState>(opt, p);
  // step 1: bc = 0.1, exp_max = (0.9 * 0 + 0.1 * max(0, |g|)) / 0.1 = |g|.
  EXPECT_TRUE(torch::allclose(s.exp_max(), torch::tensor({1.0f, 2.0f, 0.5f})));
  // exp_min starts at 0 and min(0, |g|) = 0, so it stays 0 (as in the official code).
  EXPECT_TRUE(torch::equal(s.exp_min(), torch::zeros({3})));
  EXPECT_EQ(s.step(), 1);
  set_grad(p, {3, -1, 0.25});
  opt.step();
  // step 2: bc = 0.19, max(exp_max, |g|) = [3, 2, 0.5],
  // exp_max = (0.9 * [1, 2, 0.5] + 0.1 * [3, 2, 0.5]) / 0.19 = [1.2, 2.0, 0.5] / 0.19.
  EXPECT_TRUE(torch::allclose(s.exp_max(),
                              torch::tensor({1.2f / 0.19f, 2.0f / 0.19f, 0.5f / 0.19f}), 1e-5));
  EXPECT_TRUE(torch::equal(s.exp_min(), torch::zeros({3})));
  EXPECT_EQ(s.step(), 2);
  EXPECT_EQ(s.restart_step(), 0);  // warm-up by default
  EXPECT_TRUE(torch::equal(p.detach(), torch::zeros({3})));
}

// Each GradBoost optimizer in warm-up mode equals its LibTorch counterpart bit for bit.
TEST(GradBoost, WarmupEqualsPlainOptimizerForAllPairs) {
  struct Case {
    std::string q, plain;
    OptimizerConfig config;
  };
  std::vector<Case> cases;
  auto add = [&](std::string q, std::string plain, auto edit) {
    OptimizerConfig c;
    c.lr = 0.05;
    c.weight_decay = 1e-2;
    edit(c);
    c.name = q;
    cases.push_back({q, plain, c});
  };
  add("qsgd", "sgd", [](OptimizerConfig&) {});  // Nesterov 0.9
  add("qsgd", "sgd", [](OptimizerConfig& c) { c.nesterov = false, c.dampening = 0.2; });
  add("qsgd", "sgd", [](OptimizerConfig& c) { c.nesterov = false, c.momentum = 0; });
  add("qadam", "adam", [](OptimizerConfig&) {});
  add("qadam", "adam", [](OptimizerConfig& c) { c.amsgrad = true; });
  add("qadamw", "adamw", [](OptimizerConfig&) {});
  add("qadamw", "adamw", [](OptimizerConfig& c) { c.amsgrad = true; });
  add("qrmsprop", "rmsprop", [](OptimizerConfig&) {});  // momentum 0.9
  add("qrmsprop", "rmsprop", [](OptimizerConfig& c) { c.centered = true; });
  add("qrmsprop", "rmsprop", [](OptimizerConfig& c) { c.momentum = 0; });
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.q + " momentum " + std::to_string(tc.config.momentum) + " amsgrad " +
                 std::to_string(tc.config.amsgrad) + " centered " +
                 std::to_string(tc.config.centered));
    auto pq = make_params(1);
    auto pp = make_params(1);
    auto plain_config = tc.config;
    plain_config.name = tc.plain;
    auto q = make_optimizer(tc.config, two_groups(pq));
    auto plain = make_optimizer(plain_config, two_groups(pp));
    for (int step = 0; step < 6; ++step) {
      run_steps(*q, pq, 1);
      run_steps(*plain, pp, 1);
      for (size_t i = 0; i < pq.size(); ++i) {
        ASSERT_TRUE(torch::equal(pq[i], pp[i])) << "step " << step << " param " << i;
      }
    }
    EXPECT_FALSE(torch::equal(pq[0], make_params(1)[0]));  // the parameters did move
  }
}

// The |Laplace(0, 1)| draws of one step on a parameter of `n` elements, replayed from the
// generator state the step started from.
torch::Tensor unit_noise(BoostKernel kernel, int64_t n) {
  if (kernel == BoostKernel::kReference) return torch::empty({n}).exponential_(1.0);
  const uint64_t key = draw_boost_noise_key();
  auto e = torch::empty({n});
  for (int64_t i = 0; i < n; ++i) e[i] = boost_noise_draw(key, i).magnitude;
  return e;
}

/// Selects a GradBoost kernel for one scope.
struct KernelScope {
  explicit KernelScope(BoostKernel k) { set_boost_kernel(k); }
  ~KernelScope() { set_boost_kernel(BoostKernel::kFused); }
};

// After warm-up: update = -lr * (g + |Laplace| * (exp_max - exp_min) * (1 - d)^r * sign(g)).
TEST(GradBoost, NoiseFollowsFormulaAndShrinksWithRestartStep) {
  for (BoostKernel kernel : {BoostKernel::kFused, BoostKernel::kReference}) {
    SCOPED_TRACE(kernel == BoostKernel::kFused ? "fused" : "reference");
    KernelScope scope(kernel);
    auto p = leaf({0, 0, 0, 0});
    QSGD opt({p}, QSGDOptions(1.0).clip_by(0).toss_coin(false).noise_decay(0.5));
    set_grad(p, {1, -2, 0.5, 1});
    opt.step();  // warm-up: exp_max = [1, 2, 0.5, 1]
    EXPECT_TRUE(torch::allclose(p.detach(), torch::tensor({-1.0f, 2.0f, -0.5f, -1.0f})));
    ASSERT_TRUE(set_gradboost_warmup(opt, false));
    const auto& s = state_of<QSGDParamState>(opt, p);

    std::vector<float> g = {3, -1, 0, 0.25};
    auto before = p.detach().clone();
    set_grad(p, g);
    torch::manual_seed(11);
    opt.step();
    torch::manual_seed(11);
    const auto e1 = unit_noise(kernel, 4);
    // exp_max = (0.9 * [1, 2, 0.5, 1] + 0.1 * [3, 2, 0.5, 1]) / 0.19
    const auto exp_max1 = torch::tensor({1.2f, 2.0f, 0.5f, 1.0f}) / 0.19f;
    EXPECT_TRUE(torch::allclose(s.exp_max(), exp_max1, 1e-5));
    EXPECT_EQ(s.restart_step(), 1);
    const auto g_t = torch::tensor(g);
    const auto noise1 = e1 * exp_max1 * 0.5 * g_t.sign();
    EXPECT_TRUE(torch::allclose(p.detach(), before - (g_t + noise1), 1e-5));
    EXPECT_EQ(noise1[2].item<float>(), 0.0f);  // zero gradient, zero noise

    before = p.detach().clone();
    set_grad(p, g);
    torch::manual_seed(12);
    opt.step();
    torch::manual_seed(12);
    const auto e2 = unit_noise(kernel, 4);
    // bc = 1 - 0.9^3 = 0.271; max(exp_max1, |g|) = exp_max1 (all >= |g|)
    const auto exp_max2 = exp_max1 / 0.271f;
    EXPECT_TRUE(torch::allclose(s.exp_max(), exp_max2, 1e-5));
    EXPECT_EQ(s.restart_step(), 2);
    const auto noise2 = e2 * exp_max2 * 0.25 * g_t.sign();  // scale 0.5^2
    EXPECT_TRUE(torch::allclose(p.detach(), before - (g_t + noise2), 1e-5));
    EXPECT_EQ(s.step(), 3);
  }
}

TEST(GradBoost, ClampedNoiseHasSignOfGradient) {
  torch::manual_seed(5);
  auto g = torch::randn({256}) * 10;
  g.index_put_({torch::indexing::Slice(0, 16)}, 0.0f);
  auto p = torch::zeros({256}).requires_grad_(true);
  QSGD opt({p}, QSGDOptions(1.0));  // defaults: clip_by 1e-3, toss_coin, noise_decay 1e-2
  opt.set_warmup(false);
  std::vector<torch::Tensor> noises;
  for (int i = 0; i < 3; ++i) {
    p.detach().zero_();  // from 0 with lr 1, no momentum, no decay: p = -(g + noise)
    p.mutable_grad() = g.clone();
    opt.step();
    const auto noise = -p.detach() - g;  // exact up to rounding of g + noise
    noises.push_back(noise);
    EXPECT_LE(noise.abs().max().item<float>(), 1e-3f + 1e-5f);
    EXPECT_GE((noise * g).min().item<float>(), 0.0f);  // same sign as g (or zero)
    EXPECT_LE(noise.slice(0, 0, 16).abs().max().item<float>(), 1e-6f);
    const auto clipped = (noise.abs() > 0.999e-3f).sum().item<int64_t>();
    const auto zeroed = (noise.slice(0, 16).abs() < 1e-6f).sum().item<int64_t>();
    EXPECT_GT(clipped, 60);  // |g| ~ 10 makes nearly every unmasked entry hit the clamp
    EXPECT_GT(zeroed, 60);   // the coin toss masks about half of them
  }
  EXPECT_FALSE(torch::allclose(noises[0], noises[1]));  // a fresh draw every step
  EXPECT_EQ(state_of<QSGDParamState>(opt, p).restart_step(), 3);
}

TEST(GradBoost, DeterministicUnderManualSeed) {
  auto run = [](uint64_t seed) {
    auto params = make_params(2);
    OptimizerConfig c;
    c.name = "qadam";
    c.clip_by = 0;
    auto opt = make_optimizer(c, params);
    run_steps(*opt, params, 2);
    set_gradboost_warmup(*opt, false);
    torch::manual_seed(seed);
    run_steps(*opt, params, 3);
    return params;
  };
  const auto a = run(3), b = run(3), c = run(4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  EXPECT_FALSE(torch::equal(a[0], c[0]));
}

TEST(GradBoost, WarmupSwitchKeepsStateAndPlainOptimizersHaveNone) {
  auto params = make_params(3);
  auto opt = make_optimizer(OptimizerConfig{}, params);
  ASSERT_NE(dynamic_cast<QSGD*>(opt.get()), nullptr);
  EXPECT_TRUE(dynamic_cast<QSGD&>(*opt).warmup());
  run_steps(*opt, params, 2);
  const auto& s = state_of<QSGDParamState>(*opt, params[0]);
  const auto buffer = s.momentum_buffer().clone();
  const auto exp_max = s.exp_max().clone();
  EXPECT_TRUE(set_gradboost_warmup(*opt, false));
  EXPECT_FALSE(dynamic_cast<QSGD&>(*opt).warmup());
  EXPECT_TRUE(torch::equal(s.momentum_buffer(), buffer));
  EXPECT_TRUE(torch::equal(s.exp_max(), exp_max));
  run_steps(*opt, params, 1);
  EXPECT_EQ(s.step(), 3);
  EXPECT_EQ(s.restart_step(), 1);

  OptimizerConfig plain;
  plain.name = "sgd";
  auto sgd = make_optimizer(plain, params);
  EXPECT_FALSE(set_gradboost_warmup(*sgd, false));
}

TEST(GradBoost, SaveLoadRoundTripForAllFour) {
  const auto dir = std::filesystem::temp_directory_path();
  for (const std::string name : {"qsgd", "qadam", "qadamw", "qrmsprop"}) {
    SCOPED_TRACE(name);
    OptimizerConfig c;
    c.name = name;
    c.amsgrad = true;
    c.centered = true;
    c.lr = 0.02;
    auto params = make_params(4);
    auto opt = make_optimizer(c, two_groups(params));
    run_steps(*opt, params, 2);
    set_gradboost_warmup(*opt, false);
    run_steps(*opt, params, 2);
    const auto path =
        (dir / ("frostnas_optim_" + name + "_" + std::to_string(::getpid()) + ".pt")).string();
    torch::save(*opt, path);

    std::vector<torch::Tensor> copy;
    for (const auto& p : params) copy.push_back(p.detach().clone().requires_grad_(true));
    auto loaded = make_optimizer(c, two_groups(copy));
    torch::load(*loaded, path);
    std::filesystem::remove(path);
    EXPECT_FALSE(dynamic_cast<GradBoostOptimizer&>(*loaded).warmup());
    ASSERT_EQ(loaded->state().size(), opt->state().size());

    torch::manual_seed(9);
    run_steps(*opt, params, 2);
    torch::manual_seed(9);
    run_steps(*loaded, copy, 2);
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::equal(params[i], copy[i])) << "param " << i;
    }
  }
}

TEST(GradBoost, RestoredStateMatchesFieldByField) {
  OptimizerConfig c;
  c.name = "qrmsprop";
  c.centered = true;
  auto params = make_params(6);
  auto opt = make_optimizer(c, params);
  run_steps(*opt, params, 1);
  set_gradboost_warmup(*opt, false);
  run_steps(*opt, params, 2);
  std::ostringstream out;
  torch::save(*opt, out);
  auto loaded = make_optimizer(c, params);
  std::istringstream in(out.str());
  torch::load(*loaded, in);
  for (const auto& p : params) {
    const auto& x = state_of<QRMSpropParamState>(*opt, p);
    const auto& y = state_of<QRMSpropParamState>(*loaded, p);
    EXPECT_EQ(y.step(), 3);
    EXPECT_EQ(y.restart_step(), 2);
    EXPECT_TRUE(torch::equal(x.exp_min(), y.exp_min()));
    EXPECT_TRUE(torch::equal(x.exp_max(), y.exp_max()));
    EXPECT_TRUE(torch::equal(x.square_avg(), y.square_avg()));
    EXPECT_TRUE(torch::equal(x.momentum_buffer(), y.momentum_buffer()));
    EXPECT_TRUE(torch::equal(x.grad_avg(), y.grad_avg()));
  }
}

}  // namespace
}  // namespace frostnas
