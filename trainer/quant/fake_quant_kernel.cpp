#include "trainer/quant/fake_quant_kernel.h"

#include <atomic>
#include <cmath>

#include <ATen/Parallel.h>

namespace frostnas {
namespace {

// The loops are written for the compiler to vectorize; the same source is compiled
// once for the baseline ISA and once for AVX2 + FMA, picked at run time.
struct FqArgs {
  float scale, inv_scale, zero_point, quant_min, quant_max;
};

// always_inline: each target-specific caller gets its own copy, compiled for its ISA.
__attribute__((always_inline)) inline void forward_loop(const float* x, float* y, uint8_t* mask,
                                                        int64_t n, FqArgs a) {
  for (int64_t i = 0; i < n; ++i) {
    // As LibTorch: the product with the reciprocal rounded half to even, the zero point
    // added, the range test on the unclamped code.
    const float q = std::nearbyint(x[i] * a.inv_scale) + a.zero_point;
    mask[i] = static_cast<uint8_t>((q >= a.quant_min) & (q <= a.quant_max));
    const float c = q < a.quant_min ? a.quant_min : (q > a.quant_max ? a.quant_max : q);
    y[i] = (c - a.zero_point) * a.scale;
  }
}

__attribute__((always_inline)) inline void backward_loop(const float* g, const uint8_t* mask,
                                                         float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? g[i] : 0.0f;
}

__attribute__((target("avx2,fma"))) void forward_avx2(const float* x, float* y, uint8_t* m,
                                                      int64_t n, FqArgs a) {
  forward_loop(x, y, m, n, a);
}
__attribute__((target("avx2,fma"))) void backward_avx2(const float* g, const uint8_t* m, float* dx,
                                                       int64_t n) {
  backward_loop(g, m, dx, n);
}
void forward_base(const float* x, float* y, uint8_t* m, int64_t n, FqArgs a) {
  forward_loop(x, y, m, n, a);
}
void backward_base(const float* g, const uint8_t* m, float* dx, int64_t n) {
  backward_loop(g, m, dx, n);
}

std::atomic<FakeQuantIsa> g_isa{FakeQuantIsa::kAuto};

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes && g_isa.load(std::memory_order_relaxed) == FakeQuantIsa::kAuto;
}

constexpr int64_t kGrain = 1 << 15;

class FakeQuantFunction : public torch::autograd::Function<FakeQuantFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               double scale, int64_t zero_point, int64_t quant_min,
                               int64_t quant_max) {
    // empty_like keeps a dense tensor's strides, so input, output and mask share one
    // element order and are walked linearly.
    const torch::Tensor x = input.is_non_overlapping_and_dense() ? input : input.contiguous();
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mask = torch::empty_like(x, x.options().dtype(torch::kUInt8));
    const auto s = static_cast<float>(scale);
    const FqArgs a{s, 1.0f / s, static_cast<float>(zero_point), static_cast<float>(quant_min),
                   static_cast<float>(quant_max)};
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    uint8_t* mp = mask.data_ptr<uint8_t>();
    const auto fn = has_avx2() ? forward_avx2 : forward_base;
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      fn(xp + begin, yp + begin, mp + begin, end - begin, a);
    });
    ctx->save_for_backward({mask});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor mask = ctx->get_saved_variables()[0];
    const torch::Tensor& g = grads[0];
    torch::Tensor dx;
    if (g.scalar_type() == torch::kFloat && g.strides() == mask.strides() &&
        g.sizes() == mask.sizes()) {
      dx = torch::empty_like(g);
      const float* gp = g.data_ptr<float>();
      const uint8_t* mp = mask.data_ptr<uint8_t>();
      float* dp = dx.data_ptr<float>();
      const auto fn = has_avx2() ? backward_avx2 : backward_base;
      at::parallel_for(0, g.numel(), kGrain, [&](int64_t begin, int64_t end) {
        fn(gp + begin, mp + begin, dp + begin, end - begin);
      });
    } else {
      dx = g * mask;
    }
    return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

void set_fake_quant_isa(FakeQuantIsa isa) { g_isa.store(isa); }

torch::Tensor fake_quantize_per_tensor(const torch::Tensor& x, float scale, int64_t zero_point,
                                       int64_t quant_min, int64_t quant_max) {
  TORCH_CHECK(scale > 0.0f, "fake_quantize_per_tensor: scale must be positive, got ", scale);
  TORCH_CHECK(quant_min <= zero_point && zero_point <= quant_max,
              "fake_quantize_per_tensor: zero point ", zero_point, " outside [", quant_min, ", ",
              quant_max, "]");
  if (!uses_fake_quant_kernel(x)) {
    return torch::fake_quantize_per_tensor_affine(x, scale, zero_point, quant_min, quant_max);
  }
  return FakeQuantFunction::apply(x, static_cast<double>(scale), zero_point, quant_min, quant_max);
}

}  // namespace frostnas
