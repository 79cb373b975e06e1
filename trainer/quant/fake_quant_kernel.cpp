#include "trainer/quant/fake_quant_kernel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

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

/// The straight-through gradient: g where the code was in range, else 0.
torch::Tensor masked_gradient(const torch::Tensor& g, const torch::Tensor& mask) {
  if (g.scalar_type() != torch::kFloat || g.strides() != mask.strides() ||
      g.sizes() != mask.sizes()) {
    return g * mask;
  }
  torch::Tensor dx = torch::empty_like(g);
  const float* gp = g.data_ptr<float>();
  const uint8_t* mp = mask.data_ptr<uint8_t>();
  float* dp = dx.data_ptr<float>();
  const auto fn = has_avx2() ? backward_avx2 : backward_base;
  at::parallel_for(0, g.numel(), kGrain, [&](int64_t begin, int64_t end) {
    fn(gp + begin, mp + begin, dp + begin, end - begin);
  });
  return dx;
}

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
    return {masked_gradient(grads[0], ctx->get_saved_variables()[0]), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

/// max|x| over n values; NaN wins, as in LibTorch's amax.
__attribute__((always_inline)) inline float abs_max_loop(const float* x, int64_t n) {
  float m = 0.0f;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    m = a > m ? a : m;
    nan |= a != a;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}
__attribute__((target("avx2,fma"))) float abs_max_avx2(const float* x, int64_t n) {
  return abs_max_loop(x, n);
}
float abs_max_base(const float* x, int64_t n) { return abs_max_loop(x, n); }

/// Symmetric weight fake quantization in one node: the scales (max|w| / 127 per row of
/// dim 0, or over the tensor, at least float eps) and the codes -127..127 in two passes
/// over the weight, the mask kept for the straight-through backward.
class WeightFakeQuantFunction : public torch::autograd::Function<WeightFakeQuantFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               bool per_tensor, int64_t code_max) {
    // Contiguous or channels-last, each output channel is one block of the storage.
    const torch::Tensor x =
        weight.is_contiguous() ||
                (weight.dim() == 4 && weight.is_contiguous(at::MemoryFormat::ChannelsLast))
            ? weight
            : weight.contiguous();
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mask = torch::empty_like(x, x.options().dtype(torch::kUInt8));
    const int64_t rows = x.size(0), len = x.numel() / std::max<int64_t>(rows, 1);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    uint8_t* mp = mask.data_ptr<uint8_t>();
    const auto amax_fn = has_avx2() ? abs_max_avx2 : abs_max_base;
    const auto fq_fn = has_avx2() ? forward_avx2 : forward_base;
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1));
    std::vector<float> scales(rows);
    at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) scales[r] = amax_fn(xp + r * len, len);
    });
    if (per_tensor && rows > 0) {
      const bool nan = std::any_of(scales.begin(), scales.end(), [](float v) { return v != v; });
      const float m = nan ? std::numeric_limits<float>::quiet_NaN()
                          : *std::max_element(scales.begin(), scales.end());
      std::fill(scales.begin(), scales.end(), m);
    }
    const auto qmax = static_cast<float>(code_max);
    at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float amax = scales[r], s = amax / qmax;
        // clamp_min(eps) keeps NaN, as LibTorch's does.
        const float scale =
            s < std::numeric_limits<float>::epsilon() ? std::numeric_limits<float>::epsilon() : s;
        const FqArgs a{scale, 1.0f / scale, 0.0f, -qmax, qmax};
        fq_fn(xp + r * len, yp + r * len, mp + r * len, len, a);
      }
    });
    ctx->save_for_backward({mask});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return {masked_gradient(grads[0], ctx->get_saved_variables()[0]), torch::Tensor(),
            torch::Tensor()};
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

torch::Tensor fake_quantize_weight_symmetric(const torch::Tensor& weight, bool per_tensor,
                                             int64_t code_max) {
  TORCH_CHECK(uses_fake_quant_kernel(weight) && weight.dim() >= 1,
              "fake_quantize_weight_symmetric: a float CPU tensor [out, ...] expected");
  return WeightFakeQuantFunction::apply(weight, per_tensor, code_max);
}

}  // namespace frostnas
