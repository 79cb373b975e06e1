// The vectorized per-tensor fake quantization against LibTorch's op: values and
// straight-through gradients bit for bit, on both builds of the loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "trainer/quant/fake_quant_kernel.h"

using namespace frostnas;

namespace {

void expect_same_as_libtorch(const std::string& what, const torch::Tensor& x0, float scale,
                             int64_t zero_point, int64_t quant_min, int64_t quant_max) {
  SCOPED_TRACE(what);
  auto x = x0.detach().clone().requires_grad_();
  auto xr = x0.detach().clone().requires_grad_();
  auto y = fake_quantize_per_tensor(x, scale, zero_point, quant_min, quant_max);
  auto ref = torch::fake_quantize_per_tensor_affine(xr, scale, zero_point, quant_min, quant_max);
  ASSERT_EQ(y.sizes(), ref.sizes());
  EXPECT_TRUE(torch::equal(y, ref));
  if (x0.is_contiguous(torch::MemoryFormat::ChannelsLast) && x0.dim() == 4 && !x0.is_contiguous()) {
    EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  }
  if (x0.numel() == 0) return;
  auto g = torch::randn_like(ref);
  (y * g).sum().backward();
  (ref * g).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
  // Some inputs must fall outside the range, or the mask would be untested.
  EXPECT_LT(xr.grad().ne(0).sum().item<int64_t>(), x0.numel()) << "nothing clipped";
}

}  // namespace

TEST(FakeQuantKernel, MatchesLibTorchBitForBitOnBothIsas) {
  for (FakeQuantIsa isa : {FakeQuantIsa::kAuto, FakeQuantIsa::kBaseline}) {
    set_fake_quant_isa(isa);
    SCOPED_TRACE(isa == FakeQuantIsa::kAuto ? "auto" : "baseline");
    torch::manual_seed(5);
    expect_same_as_libtorch("oneDNN range", torch::randn({3, 5, 7, 11}) * 4, 0.037f, 10, 0, 127);
    expect_same_as_libtorch("saturating at 255", torch::randn({3, 5, 7, 11}) * 8, 0.037f, 64, 0,
                            255);
    // Exact ties x / scale = k + 0.5 (a power-of-two scale): rounded half to even.
    auto ties = (torch::arange(-60, 300).to(torch::kFloat) + 0.5f) * 0.0625f;
    expect_same_as_libtorch("ties", ties, 0.0625f, 3, 0, 255);
    expect_same_as_libtorch("zero point at quant_min",
                            torch::cat({torch::randn({50}), torch::tensor({0.0f, -0.0f})}), 0.02f,
                            0, 0, 127);
    expect_same_as_libtorch("zero point at quant_max", torch::randn({97}), 0.02f, 127, 0, 127);
    expect_same_as_libtorch(
        "channels-last",
        (torch::randn({2, 8, 5, 5}) * 3).contiguous(torch::MemoryFormat::ChannelsLast), 0.05f, 20,
        0, 127);
    expect_same_as_libtorch("strided view", (torch::randn({40, 30}) * 3).slice(1, 0, 30, 2), 0.05f,
                            20, 0, 127);
    // Several parallel chunks and a tail that is no multiple of any vector width.
    expect_same_as_libtorch("large", torch::randn({80013}) * 5, 0.041f, 30, 0, 255);
    expect_same_as_libtorch("empty", torch::zeros({0, 4}), 0.041f, 30, 0, 255);
  }
  set_fake_quant_isa(FakeQuantIsa::kAuto);
}

TEST(FakeQuantKernel, GradientWithOtherStridesAndBadQParams) {
  torch::manual_seed(6);
  auto x = (torch::randn({6, 9}) * 3).requires_grad_();
  auto xr = x.detach().clone().requires_grad_();
  auto g = torch::randn({9, 6});
  // A transposed use hands the backward a gradient with other strides than the mask.
  (fake_quantize_per_tensor(x, 0.05f, 7, 0, 127).t() * g).sum().backward();
  (torch::fake_quantize_per_tensor_affine(xr, 0.05f, 7, 0, 127).t() * g).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
  EXPECT_EQ(x.grad().strides(), xr.grad().strides());
  // A channels-last activation whose gradient comes back contiguous, and one whose
  // gradient is expanded from a sum (stride 0): the same values and the same layout as
  // LibTorch's, so that the backward ops below sum in the same order.
  const auto cl = (torch::randn({2, 8, 5, 5}) * 3).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto g4 = torch::randn({2, 8, 5, 5});
  for (const bool expanded : {false, true}) {
    SCOPED_TRACE(expanded ? "expanded gradient" : "contiguous gradient");
    auto grad_of = [&](bool ours) {
      auto a = cl.clone().requires_grad_();
      auto y = ours ? fake_quantize_per_tensor(a, 0.05f, 20, 0, 127)
                    : torch::fake_quantize_per_tensor_affine(a, 0.05f, 20, 0, 127);
      (expanded ? y.sum() : (y.contiguous() * g4).sum()).backward();
      return a.grad();
    };
    const auto ours = grad_of(true), ref = grad_of(false);
    EXPECT_TRUE(torch::equal(ours, ref));
    EXPECT_EQ(ours.strides(), ref.strides());
    EXPECT_GT(ref.eq(0).sum().item<int64_t>(), 0) << "nothing clipped";
  }
  EXPECT_THROW(fake_quantize_per_tensor(x, 0.0f, 7, 0, 127), c10::Error);
  EXPECT_THROW(fake_quantize_per_tensor(x, 0.05f, 200, 0, 127), c10::Error);
}

namespace {

/// LibTorch's composition for a symmetric weight: amax / 127, clamp_min(eps), then the
/// per-channel (or per-tensor) fake quantization op with zero point 0.
torch::Tensor libtorch_weight_fake_quant(const torch::Tensor& w, bool per_tensor) {
  torch::Tensor amax;
  {
    torch::NoGradGuard no_grad;
    auto a = w.detach().abs();
    amax = per_tensor ? a.amax().reshape({1}) : a.reshape({w.size(0), -1}).amax(1);
  }
  auto s = torch::clamp_min(amax / 127.0f, std::numeric_limits<float>::epsilon());
  if (per_tensor) {
    return torch::fake_quantize_per_tensor_affine(w, s, torch::zeros({1}, torch::kInt), -127, 127);
  }
  return torch::fake_quantize_per_channel_affine(w, s, torch::zeros({w.size(0)}, torch::kInt), 0,
                                                 -127, 127);
}

}  // namespace

TEST(FakeQuantKernel, WeightKernelMatchesLibTorchPerChannelAndPerTensor) {
  for (FakeQuantIsa isa : {FakeQuantIsa::kAuto, FakeQuantIsa::kBaseline}) {
    set_fake_quant_isa(isa);
    for (bool per_tensor : {false, true}) {
      torch::manual_seed(7);
      // Channel scales that differ by orders of magnitude, an all-zero channel (eps), a
      // channels-last conv weight, a linear weight and a large one split across threads.
      auto conv = torch::randn({6, 4, 3, 3}) * torch::logspace(-3, 1, 6).reshape({6, 1, 1, 1});
      conv[2].zero_();
      const std::vector<std::pair<std::string, torch::Tensor>> cases = {
          {"conv", conv},
          {"channels-last", conv.contiguous(torch::MemoryFormat::ChannelsLast)},
          {"depthwise", torch::randn({24, 1, 5, 5})},
          {"linear", torch::randn({10, 33}) * 0.1},
          {"large", torch::randn({300, 7, 3, 3})},
          {"transposed view", torch::randn({12, 9}).t()}};
      for (const auto& [name, w0] : cases) {
        SCOPED_TRACE(name + (per_tensor ? " per tensor" : " per channel") +
                     (isa == FakeQuantIsa::kAuto ? " auto" : " baseline"));
        auto w = w0.detach().clone().requires_grad_();
        auto wr = w0.detach().clone().requires_grad_();
        auto y = fake_quantize_weight_symmetric(w, per_tensor, 127);
        auto ref = libtorch_weight_fake_quant(wr, per_tensor);
        ASSERT_TRUE(torch::equal(y, ref));
        // Not vacuous: the grid is coarse enough to move most values.
        EXPECT_GT(y.ne(w0).sum().item<int64_t>(), w0.numel() / 2);
        auto g = torch::randn_like(ref);
        (y * g).sum().backward();
        (ref * g).sum().backward();
        EXPECT_TRUE(torch::equal(w.grad(), wr.grad()));
      }
    }
  }
  set_fake_quant_isa(FakeQuantIsa::kAuto);
}

TEST(FakeQuantKernel, FoldedWeightMatchesTheChainOfLibTorchOps) {
  // QatConvBnAct's weight path as LibTorch ops: sf = gamma / sqrt(var + eps), then
  // fq(w * sf) * (1 / sf). Values and the weight's gradient bit for bit; gamma's gradient
  // to float rounding (it is a sum over the channel).
  for (FakeQuantIsa isa : {FakeQuantIsa::kAuto, FakeQuantIsa::kBaseline}) {
    set_fake_quant_isa(isa);
    for (bool per_tensor : {false, true}) {
      torch::manual_seed(9);
      const std::vector<std::pair<std::string, torch::Tensor>> cases = {
          {"conv", torch::randn({6, 4, 3, 3})},
          {"depthwise", torch::randn({24, 1, 5, 5})},
          {"pointwise, split across threads", torch::randn({300, 160, 1, 1})}};
      for (const auto& [name, w0] : cases) {
        for (bool channels_last_grad : {false, true}) {
          SCOPED_TRACE(name + (per_tensor ? " per tensor" : " per channel") +
                       (isa == FakeQuantIsa::kAuto ? " auto" : " baseline") +
                       (channels_last_grad ? " channels-last gradient" : ""));
          const int64_t out = w0.size(0);
          const auto gamma0 = torch::rand({out}) * 2 + 0.1;
          const auto var = torch::rand({out}) * 3 + 0.01;
          auto w = w0.clone().requires_grad_(), wr = w0.clone().requires_grad_();
          auto gamma = gamma0.clone().requires_grad_(), gr = gamma0.clone().requires_grad_();
          auto y = fold_bn_fake_quantize_weight(w, gamma, var, 1e-5, per_tensor, 127);
          auto sf = (gr / torch::sqrt(var + 1e-5)).reshape({-1, 1, 1, 1});
          auto ref = libtorch_weight_fake_quant(wr * sf, per_tensor) * sf.reciprocal();
          ASSERT_TRUE(torch::equal(y, ref));
          EXPECT_GT(y.ne(w0).sum().item<int64_t>(), w0.numel() / 2);
          const auto format = channels_last_grad ? torch::MemoryFormat::ChannelsLast
                                                 : torch::MemoryFormat::Contiguous;
          const auto g = torch::randn_like(ref);
          (y.contiguous(format) * g).sum().backward();
          (ref.contiguous(format) * g).sum().backward();
          EXPECT_TRUE(torch::equal(w.grad(), wr.grad()));
          EXPECT_TRUE(torch::allclose(gamma.grad(), gr.grad(), 1e-4, 1e-5))
              << (gamma.grad() - gr.grad()).abs().max().item<float>();
          EXPECT_GT(gr.grad().abs().min().item<float>(), 0.0f);
          EXPECT_FALSE(var.requires_grad());
        }
      }
    }
  }
  set_fake_quant_isa(FakeQuantIsa::kAuto);
}

TEST(FakeQuantKernel, DenseMinMaxMatchesAminmaxInAnyLayout) {
  for (FakeQuantIsa isa : {FakeQuantIsa::kAuto, FakeQuantIsa::kBaseline}) {
    set_fake_quant_isa(isa);
    SCOPED_TRACE(isa == FakeQuantIsa::kAuto ? "auto" : "baseline");
    torch::manual_seed(7);
    const std::vector<std::pair<std::string, torch::Tensor>> cases = {
        {"one value", torch::tensor({-2.5f})},
        {"all negative", -torch::rand({37}) - 1},
        {"channels-last",
         torch::randn({4, 16, 9, 9}).contiguous(torch::MemoryFormat::ChannelsLast)},
        {"transposed", torch::randn({30, 40}).t()},
        // Several parallel chunks and a tail that is no multiple of any vector width.
        {"large", torch::randn({200003}) * 7}};
    for (const auto& [what, x] : cases) {
      SCOPED_TRACE(what);
      const auto [lo, hi] = dense_min_max(x);
      const auto ref = torch::aminmax(x);
      EXPECT_EQ(lo, std::get<0>(ref).item<float>());
      EXPECT_EQ(hi, std::get<1>(ref).item<float>());
    }
    auto with_nan = torch::randn({1000});
    with_nan[613] = std::numeric_limits<float>::quiet_NaN();
    const auto [lo, hi] = dense_min_max(with_nan);
    EXPECT_TRUE(std::isnan(lo) && std::isnan(hi));
    EXPECT_TRUE(std::isnan(std::get<0>(torch::aminmax(with_nan)).item<float>()));
    EXPECT_THROW(dense_min_max(torch::zeros({0})), c10::Error);
    EXPECT_THROW(dense_min_max(torch::randn({6, 9}).slice(1, 0, 9, 2)), c10::Error);
  }
  set_fake_quant_isa(FakeQuantIsa::kAuto);
}

TEST(FakeQuantKernel, FusedReluMatchesReluThenFakeQuant) {
  for (FakeQuantIsa isa : {FakeQuantIsa::kAuto, FakeQuantIsa::kBaseline}) {
    set_fake_quant_isa(isa);
    torch::manual_seed(8);
    // Negative, zero, -0, positive in and beyond the range; dense and channels-last. (NaN
    // differs from LibTorch's op with or without the ReLU, as documented.)
    auto special = torch::tensor({-1.0f, -0.0f, 0.0f, 0.001f, 0.5f, 100.0f});
    const std::vector<std::pair<std::string, torch::Tensor>> cases = {
        {"special", special},
        {"channels-last",
         (torch::randn({2, 6, 5, 5}) * 3).contiguous(torch::MemoryFormat::ChannelsLast)},
        {"large", torch::randn({70001}) * 4}};
    for (const auto& [name, x0] : cases) {
      SCOPED_TRACE(name + (isa == FakeQuantIsa::kAuto ? " auto" : " baseline"));
      auto x = x0.detach().clone().requires_grad_();
      auto xr = x0.detach().clone().requires_grad_();
      auto y = fake_quantize_per_tensor(x, 0.04f, 9, 0, 127, /*relu=*/true);
      auto ref = torch::fake_quantize_per_tensor_affine(torch::relu(xr), 0.04f, 9, 0, 127);
      ASSERT_TRUE(torch::equal(y, ref));
      auto g = torch::randn_like(ref);
      (y * g).sum().backward();
      (ref * g).sum().backward();
      EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
      // Both the ReLU and the range cut gradients somewhere, and some pass.
      EXPECT_GT(xr.grad().ne(0).sum().item<int64_t>(), 0);
      EXPECT_GT((x0 < 0).logical_and(xr.grad().eq(0)).sum().item<int64_t>(), 0);
      // An expanded gradient (from a sum): the ReLU's backward returns it in the
      // activation's layout, and so must the fused one.
      auto xe = x0.detach().clone().requires_grad_();
      auto xer = x0.detach().clone().requires_grad_();
      fake_quantize_per_tensor(xe, 0.04f, 9, 0, 127, /*relu=*/true).sum().backward();
      torch::fake_quantize_per_tensor_affine(torch::relu(xer), 0.04f, 9, 0, 127).sum().backward();
      EXPECT_TRUE(torch::equal(xe.grad(), xer.grad()));
      EXPECT_EQ(xe.grad().strides(), xer.grad().strides());
    }
  }
  set_fake_quant_isa(FakeQuantIsa::kAuto);
}
