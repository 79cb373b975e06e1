#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "trainer/optim/boost_kernel.h"

namespace frostnas {
namespace {

/// Positive statistics and a gradient with zeros, as after a few optimizer steps.
struct BoostInputs {
  torch::Tensor grad, exp_min, exp_max;
};

BoostInputs boost_inputs(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  auto grad = torch::randn({n});
  grad.index_put_({torch::indexing::Slice(0, n / 10)}, 0.0f);
  auto exp_min = torch::rand({n}) * 0.1;
  auto exp_max = exp_min + torch::rand({n});
  return {grad, exp_min, exp_max};
}

BoostStep noisy_step(bool toss_coin, double clip_by) {
  BoostStep s;
  s.beta = 0.9;
  s.bias_correction = 1 - std::pow(0.9, 5);
  s.warmup = false;
  s.noise_scale = 0.7;
  s.toss_coin = toss_coin;
  s.clip_by = clip_by;
  return s;
}

/// Runs one boost with `kernel` on copies of `in`; returns {boosted, exp_min, exp_max}.
std::vector<torch::Tensor> run_boost(BoostKernel kernel, const BoostInputs& in,
                                     const BoostStep& step) {
  set_boost_kernel(kernel);
  auto mn = in.exp_min.clone();
  auto mx = in.exp_max.clone();
  auto out = boost_gradient(in.grad, mn, mx, step);
  set_boost_kernel(BoostKernel::kFused);
  return {out, mn, mx};
}

TEST(BoostKernel, FusedStatisticsMatchTheReference) {
  const auto in = boost_inputs(50000, 1);
  BoostStep warm;
  warm.bias_correction = 1 - std::pow(0.9, 3);
  const auto fused = run_boost(BoostKernel::kFused, in, warm);
  const auto ref = run_boost(BoostKernel::kReference, in, warm);
  EXPECT_TRUE(torch::equal(fused[0], in.grad));  // warm-up: the gradient itself
  EXPECT_TRUE(torch::allclose(fused[1], ref[1], 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(fused[2], ref[2], 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(fused[2], in.exp_max));  // the statistics did move
}

// The noisy output equals the formula of grad_boost.h evaluated on the kernel's draws.
TEST(BoostKernel, FusedNoiseFollowsTheFormula) {
  const auto in = boost_inputs(3000, 2);
  for (bool coin : {false, true}) {
    for (double clip : {0.0, 0.05}) {
      SCOPED_TRACE("toss_coin " + std::to_string(coin) + " clip_by " + std::to_string(clip));
      const BoostStep step = noisy_step(coin, clip);
      torch::manual_seed(7);
      const auto out = run_boost(BoostKernel::kFused, in, step);
      torch::manual_seed(7);
      const uint64_t key = draw_boost_noise_key();
      auto unit = torch::empty({in.grad.numel()});
      for (int64_t i = 0; i < unit.numel(); ++i) {
        const auto d = boost_noise_draw(key, i);
        unit[i] = (coin && !d.keep) ? 0.0f : d.magnitude;
      }
      auto noise = unit * (out[2] - out[1]) * step.noise_scale * in.grad.sign();
      if (clip > 0) noise = noise.clamp(-clip, clip);
      EXPECT_TRUE(torch::allclose(out[0], in.grad + noise, 1e-5, 1e-6));
      EXPECT_FALSE(torch::allclose(out[0], in.grad));
    }
  }
}

// Draws are functions of (key, index): the same bits on one thread as on two, and the same
// under the same seed.
TEST(BoostKernel, NoiseDoesNotDependOnThreadCount) {
  const auto in = boost_inputs(200000, 3);  // several tasks of the parallel loop
  const int threads = torch::get_num_threads();
  const BoostStep step = noisy_step(true, 0.0);
  torch::set_num_threads(1);
  torch::manual_seed(9);
  const auto one = run_boost(BoostKernel::kFused, in, step);
  torch::set_num_threads(2);
  torch::manual_seed(9);
  const auto two = run_boost(BoostKernel::kFused, in, step);
  torch::manual_seed(10);
  const auto other = run_boost(BoostKernel::kFused, in, step);
  torch::set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i]));
  EXPECT_FALSE(torch::equal(one[0], other[0]));
}

// Exponential(1) magnitudes and a fair, independent coin, over 200,000 draws: the bounds are
// more than 4 standard errors wide.
TEST(BoostKernel, UnitDrawsAreExponentialAndAFairCoin) {
  const int64_t n = 200000;
  double sum = 0, sum_sq = 0, kept = 0, kept_sum = 0, below_median = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto d = boost_noise_draw(0x1234567ULL, i);
    ASSERT_TRUE(std::isfinite(d.magnitude) && d.magnitude >= 0);
    sum += d.magnitude;
    sum_sq += d.magnitude * d.magnitude;
    below_median += d.magnitude < std::log(2.0) ? 1 : 0;
    if (d.keep) kept += 1, kept_sum += d.magnitude;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 1.0, 0.01);                      // sd of the mean: 0.0022
  EXPECT_NEAR(sum_sq / n - mean * mean, 1.0, 0.03);  // variance 1
  EXPECT_NEAR(below_median / n, 0.5, 0.005);         // median ln 2
  EXPECT_NEAR(kept / n, 0.5, 0.005);
  EXPECT_NEAR(kept_sum / kept, 1.0, 0.015);  // the coin is independent of the magnitude
  EXPECT_NE(boost_noise_draw(1, 0).magnitude, boost_noise_draw(2, 0).magnitude);
}

TEST(BoostKernel, FusesOnlyDenseFloatTensorsOfOneLayout) {
  const auto f = torch::zeros({4, 6});
  EXPECT_TRUE(can_fuse_boost(f, f.clone(), f.clone()));
  const auto nhwc = torch::zeros({2, 3, 4, 4}).contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(can_fuse_boost(nhwc, torch::zeros_like(nhwc, torch::MemoryFormat::Preserve),
                             torch::zeros_like(nhwc, torch::MemoryFormat::Preserve)));
  EXPECT_FALSE(can_fuse_boost(nhwc, torch::zeros({2, 3, 4, 4}), torch::zeros({2, 3, 4, 4})));
  const auto d = torch::zeros({4, 6}, torch::kDouble);
  EXPECT_FALSE(can_fuse_boost(d, d.clone(), d.clone()));
  const auto strided = torch::zeros({4, 12}).slice(1, 0, 12, 2);
  EXPECT_FALSE(can_fuse_boost(strided, torch::zeros({4, 6}), torch::zeros({4, 6})));
}

// State read back from a checkpoint is contiguous; a channels-last gradient gives it its own
// layout, so that a resumed run stays on the fused path with the same values.
TEST(BoostKernel, StateTakesTheLayoutOfAChannelsLastGradient) {
  torch::manual_seed(6);
  const auto grad = torch::randn({4, 3, 5, 5}).contiguous(torch::MemoryFormat::ChannelsLast);
  auto mn = torch::rand({4, 3, 5, 5}) * 0.1;
  auto mx = mn + torch::rand({4, 3, 5, 5});
  const auto mn0 = mn.clone(), mx0 = mx.clone();
  BoostStep warm;
  boost_gradient(grad, mn, mx, warm);
  EXPECT_EQ(mn.strides(), grad.strides());
  EXPECT_EQ(mx.strides(), grad.strides());
  auto ref_mn = mn0.clone(), ref_mx = mx0.clone();
  set_boost_kernel(BoostKernel::kReference);
  boost_gradient(grad.contiguous(), ref_mn, ref_mx, warm);
  set_boost_kernel(BoostKernel::kFused);
  EXPECT_TRUE(torch::allclose(mx, ref_mx, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(mn, ref_mn, 1e-6, 1e-7));
}

// Tensors the fused kernel refuses (double here) take the reference path with the same
// statistics.
TEST(BoostKernel, DoubleTensorsTakeTheReferencePath) {
  const auto in = boost_inputs(1000, 4);
  const BoostInputs in64{in.grad.to(torch::kDouble), in.exp_min.to(torch::kDouble),
                         in.exp_max.to(torch::kDouble)};
  BoostStep warm;
  const auto fused = run_boost(BoostKernel::kFused, in64, warm);
  const auto ref = run_boost(BoostKernel::kReference, in, warm);
  EXPECT_EQ(fused[1].scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(fused[2].to(torch::kFloat), ref[2], 1e-6, 1e-7));
}

}  // namespace
}  // namespace frostnas
