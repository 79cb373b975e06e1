// The vectorized per-tensor fake quantization against LibTorch's op: values and
// straight-through gradients bit for bit, on both builds of the loops.
#include <gtest/gtest.h>

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
  EXPECT_THROW(fake_quantize_per_tensor(x, 0.0f, 7, 0, 127), c10::Error);
  EXPECT_THROW(fake_quantize_per_tensor(x, 0.05f, 200, 0, 127), c10::Error);
}
