#include "trainer/quant/fake_quant_kernel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>
#include <immintrin.h>

namespace frostnas {
namespace {

// The loops are written for the compiler to vectorize; the same source is compiled
// once for the baseline ISA and once for AVX2 + FMA, picked at run time.
struct FqArgs {
  float scale, inv_scale, zero_point, quant_min, quant_max;
};

// always_inline: each target-specific caller gets its own copy, compiled for its ISA.
template <bool kRelu>
__attribute__((always_inline)) inline void forward_loop(const float* x, float* y, uint8_t* mask,
                                                        int64_t n, FqArgs a) {
  for (int64_t i = 0; i < n; ++i) {
    // ReLU first when fused: NaN stays NaN, and the gradient passes only where the ReLU's
    // output is positive (LibTorch's threshold_backward on the output), that is where x
    // is: tested on x, not on v, or GCC does not vectorize the loop.
    const float v = kRelu ? (x[i] < 0.0f ? 0.0f : x[i]) : x[i];
    // As LibTorch: the product with the reciprocal rounded half to even, the zero point
    // added, the range test on the unclamped code.
    const float q = std::nearbyint(v * a.inv_scale) + a.zero_point;
    const bool in_range = (q >= a.quant_min) & (q <= a.quant_max);
    mask[i] = static_cast<uint8_t>(kRelu ? in_range & (x[i] > 0.0f) : in_range);
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
  forward_loop<false>(x, y, m, n, a);
}
__attribute__((target("avx2,fma"))) void relu_forward_avx2(const float* x, float* y, uint8_t* m,
                                                           int64_t n, FqArgs a) {
  forward_loop<true>(x, y, m, n, a);
}
__attribute__((target("avx2,fma"))) void backward_avx2(const float* g, const uint8_t* m, float* dx,
                                                       int64_t n) {
  backward_loop(g, m, dx, n);
}
void forward_base(const float* x, float* y, uint8_t* m, int64_t n, FqArgs a) {
  forward_loop<false>(x, y, m, n, a);
}
void relu_forward_base(const float* x, float* y, uint8_t* m, int64_t n, FqArgs a) {
  forward_loop<true>(x, y, m, n, a);
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

/// One 2-D chunk of a TensorIterator over (dx, g, mask): dx = mask ? g : 0.
void masked_gradient_chunk(char** data, const int64_t* strides, int64_t n0, int64_t n1) {
  const auto fn = has_avx2() ? backward_avx2 : backward_base;
  for (int64_t j = 0; j < n1; ++j) {
    char* dp = data[0] + j * strides[3];
    const char* gp = data[1] + j * strides[4];
    const char* mp = data[2] + j * strides[5];
    if (strides[0] == sizeof(float) && strides[1] == sizeof(float) && strides[2] == 1) {
      fn(reinterpret_cast<const float*>(gp), reinterpret_cast<const uint8_t*>(mp),
         reinterpret_cast<float*>(dp), n0);
      continue;
    }
    for (int64_t i = 0; i < n0; ++i) {
      const float gv = *reinterpret_cast<const float*>(gp + i * strides[1]);
      *reinterpret_cast<float*>(dp + i * strides[0]) = mp[i * strides[2]] ? gv : 0.0f;
    }
  }
}

/// The straight-through gradient where g's layout differs from the mask's (an expanded or
/// transposed gradient). dx is laid out as `g * mask` would be (`in_mask_layout`: as the
/// mask, which is what a ReLU's backward gives), so the backward ops below sum in the same
/// order; the uint8 mask is read in place instead of being cast to a float copy first.
torch::Tensor masked_gradient_strided(const torch::Tensor& g, const torch::Tensor& mask,
                                      bool in_mask_layout) {
  at::TensorIterator iter =
      at::TensorIteratorConfig()
          .add_owned_output(in_mask_layout ? torch::empty_like(mask, g.options()) : torch::Tensor())
          .add_input(g)
          .add_input(mask)
          .check_all_same_dtype(false)
          .declare_static_dtype_and_device(torch::kFloat, g.device())
          .build();
  iter.for_each(masked_gradient_chunk, kGrain);
  return iter.output();
}

/// The straight-through gradient: g where the code was in range, else 0.
torch::Tensor masked_gradient(const torch::Tensor& g, const torch::Tensor& mask,
                              bool in_mask_layout = false) {
  if (g.scalar_type() != torch::kFloat || g.sizes() != mask.sizes()) {
    torch::Tensor dx = g * mask;
    return in_mask_layout ? dx.contiguous(mask.suggest_memory_format()) : dx;
  }
  if (g.strides() != mask.strides()) return masked_gradient_strided(g, mask, in_mask_layout);
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
                               int64_t quant_max, bool relu) {
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
    const auto fn = relu ? (has_avx2() ? relu_forward_avx2 : relu_forward_base)
                         : (has_avx2() ? forward_avx2 : forward_base);
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      fn(xp + begin, yp + begin, mp + begin, end - begin, a);
    });
    ctx->save_for_backward({mask});
    ctx->saved_data["relu"] = relu;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    // The ReLU's own backward returns its gradient in the layout of its output (the
    // mask's); the layers below reduce over it, so keeping that layout keeps their sums in
    // the same order, and a run bit for bit the same as with a separate ReLU.
    torch::Tensor dx = masked_gradient(grads[0], ctx->get_saved_variables()[0],
                                       /*in_mask_layout=*/ctx->saved_data["relu"].toBool());
    return {
        dx, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

/// min and max over n values (of |x| with kAbs); `nan` when one is NaN, as LibTorch's
/// aminmax and amax return NaN then.
struct MinMax {
  float lo, hi;
  bool nan;
};

template <bool kAbs>
__attribute__((always_inline)) inline MinMax min_max_scalar(const float* x, int64_t n, MinMax m) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = kAbs ? std::fabs(x[i]) : x[i];
    m.lo = v < m.lo ? v : m.lo;
    m.hi = v > m.hi ? v : m.hi;
    m.nan |= v != v;
  }
  return m;
}

template <bool kAbs>
MinMax min_max_base(const float* x, int64_t n) {
  return min_max_scalar<kAbs>(
      x, n,
      {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), false});
}

// A float min / max reduction does not vectorize without -ffast-math, so the AVX2 build
// is written with intrinsics. Min and max do not depend on the order of the values; NaN
// is tracked on its own, as _mm256_min_ps / _mm256_max_ps drop it.
template <bool kAbs>
__attribute__((target("avx2,fma"))) MinMax min_max_avx2(const float* x, int64_t n) {
  __m256 lo = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  __m256 hi = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 nan = _mm256_setzero_ps();
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (kAbs) v = _mm256_and_ps(v, abs_mask);
    lo = _mm256_min_ps(lo, v);
    hi = _mm256_max_ps(hi, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  alignas(32) float lo_lanes[8], hi_lanes[8];
  _mm256_store_ps(lo_lanes, lo);
  _mm256_store_ps(hi_lanes, hi);
  MinMax m{lo_lanes[0], hi_lanes[0], _mm256_movemask_ps(nan) != 0};
  for (int j = 1; j < 8; ++j) {
    m.lo = lo_lanes[j] < m.lo ? lo_lanes[j] : m.lo;
    m.hi = hi_lanes[j] > m.hi ? hi_lanes[j] : m.hi;
  }
  return min_max_scalar<kAbs>(x + i, n - i, m);
}

MinMax min_max(const float* x, int64_t n) {
  return has_avx2() ? min_max_avx2<false>(x, n) : min_max_base<false>(x, n);
}

/// max|x| over n values; NaN wins, as in LibTorch's amax.
float abs_max(const float* x, int64_t n) {
  const MinMax m = has_avx2() ? min_max_avx2<true>(x, n) : min_max_base<true>(x, n);
  return m.nan ? std::numeric_limits<float>::quiet_NaN() : std::max(m.hi, 0.0f);
}

/// Symmetric fake quantization of `rows` rows of `len` values each (one output channel
/// per row): the scales (max|x| / code_max per row, or over all rows when per_tensor, at
/// least float eps) and the codes -code_max..code_max, in two passes; `x` may alias `y`.
void fake_quantize_rows(const float* x, float* y, uint8_t* mask, int64_t rows, int64_t len,
                        bool per_tensor, int64_t code_max) {
  const auto fq_fn = has_avx2() ? forward_avx2 : forward_base;
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(len, 1));
  std::vector<float> scales(rows);
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) scales[r] = abs_max(x + r * len, len);
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
      fq_fn(x + r * len, y + r * len, mask + r * len, len, a);
    }
  });
}

/// `weight` itself when each output channel is one block of its storage (contiguous or
/// channels-last), else a contiguous copy.
torch::Tensor row_blocked(const torch::Tensor& weight) {
  return weight.is_contiguous() ||
                 (weight.dim() == 4 && weight.is_contiguous(at::MemoryFormat::ChannelsLast))
             ? weight
             : weight.contiguous();
}

/// Symmetric weight fake quantization in one node, the mask kept for the straight-through
/// backward.
class WeightFakeQuantFunction : public torch::autograd::Function<WeightFakeQuantFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               bool per_tensor, int64_t code_max) {
    const torch::Tensor x = row_blocked(weight);
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mask = torch::empty_like(x, x.options().dtype(torch::kUInt8));
    const int64_t rows = x.size(0), len = x.numel() / std::max<int64_t>(rows, 1);
    fake_quantize_rows(x.data_ptr<float>(), y.data_ptr<float>(), mask.data_ptr<uint8_t>(), rows,
                       len, per_tensor, code_max);
    ctx->save_for_backward({mask});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return {masked_gradient(grads[0], ctx->get_saved_variables()[0]), torch::Tensor(),
            torch::Tensor()};
  }
};

/// fq_w(w * sf) * (1 / sf) with sf = gamma / sqrt(running_var + eps), in one node. Each
/// value is computed with the same float operations, in the same order, as LibTorch's
/// elementwise ops in QatConvBnAct's chain, so values and the weight's gradient match it
/// bit for bit; gamma's gradient sums over the channel in double instead of LibTorch's
/// float reduction order.
class FoldedWeightFakeQuantFunction
    : public torch::autograd::Function<FoldedWeightFakeQuantFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               const torch::Tensor& gamma, const torch::Tensor& running_var,
                               double eps, bool per_tensor, int64_t code_max) {
    const torch::Tensor w = weight.contiguous();
    const int64_t rows = w.size(0), len = w.numel() / std::max<int64_t>(rows, 1);
    const torch::Tensor g = gamma.contiguous(), rv = running_var.contiguous();
    torch::Tensor sf = torch::empty({rows}, w.options()), denom = torch::empty_like(sf);
    const auto e = static_cast<float>(eps);
    const float *gp = g.data_ptr<float>(), *rvp = rv.data_ptr<float>();
    float *sfp = sf.data_ptr<float>(), *dp = denom.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
      dp[r] = std::sqrt(rvp[r] + e);
      sfp[r] = gp[r] / dp[r];
    }
    torch::Tensor wq = torch::empty_like(w), y = torch::empty_like(w);
    torch::Tensor mask = torch::empty_like(w, w.options().dtype(torch::kUInt8));
    const float *wp = w.data_ptr<float>(), *sp = sf.data_ptr<float>();
    float *qp = wq.data_ptr<float>(), *yp = y.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = r * len; i < (r + 1) * len; ++i) qp[i] = wp[i] * sp[r];
    fake_quantize_rows(qp, qp, mask.data_ptr<uint8_t>(), rows, len, per_tensor, code_max);
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = 1.0f / sp[r];
      for (int64_t i = r * len; i < (r + 1) * len; ++i) yp[i] = qp[i] * inv;
    }
    ctx->save_for_backward({w, wq, mask, sf, denom});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads);
};

torch::autograd::tensor_list FoldedWeightFakeQuantFunction::backward(
    torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
  const auto saved = ctx->get_saved_variables();
  const torch::Tensor &w = saved[0], &wq = saved[1], &mask = saved[2], &sf = saved[3],
                      &denom = saved[4];
  const torch::Tensor g = grads[0].contiguous();
  const int64_t rows = w.size(0), len = w.numel() / std::max<int64_t>(rows, 1);
  torch::Tensor dw = torch::empty_like(w), dgamma = torch::empty_like(sf);
  const float *gp = g.data_ptr<float>(), *wp = w.data_ptr<float>(), *qp = wq.data_ptr<float>();
  const float *sp = sf.data_ptr<float>(), *dp = denom.data_ptr<float>();
  const uint8_t* mp = mask.data_ptr<uint8_t>();
  float *dwp = dw.data_ptr<float>(), *dgp = dgamma.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float s = sp[r], inv = 1.0f / s;
    // y = wq * inv: d/dwq = g * inv, d/dinv = sum(g * wq); wq = fq(u): straight through
    // where in range; u = w * s: d/dw = du * s, d/ds = sum(du * w) - d/dinv * inv^2.
    double d_inv = 0, d_s = 0;
    for (int64_t i = r * len; i < (r + 1) * len; ++i) {
      const float du = mp[i] ? gp[i] * inv : 0.0f;
      dwp[i] = du * s;
      d_s += static_cast<double>(du) * wp[i];
      d_inv += static_cast<double>(gp[i]) * qp[i];
    }
    d_s -= d_inv * (static_cast<double>(inv) * inv);
    dgp[r] = static_cast<float>(d_s / dp[r]);  // s = gamma / denom
  }
  return {dw, dgamma, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
}

}  // namespace

void set_fake_quant_isa(FakeQuantIsa isa) { g_isa.store(isa); }

torch::Tensor fake_quantize_per_tensor(const torch::Tensor& x, float scale, int64_t zero_point,
                                       int64_t quant_min, int64_t quant_max, bool relu) {
  TORCH_CHECK(scale > 0.0f, "fake_quantize_per_tensor: scale must be positive, got ", scale);
  TORCH_CHECK(quant_min <= zero_point && zero_point <= quant_max,
              "fake_quantize_per_tensor: zero point ", zero_point, " outside [", quant_min, ", ",
              quant_max, "]");
  if (!uses_fake_quant_kernel(x)) {
    return torch::fake_quantize_per_tensor_affine(relu ? torch::relu(x) : x, scale, zero_point,
                                                  quant_min, quant_max);
  }
  return FakeQuantFunction::apply(x, static_cast<double>(scale), zero_point, quant_min, quant_max,
                                  relu);
}

torch::Tensor fake_quantize_weight_symmetric(const torch::Tensor& weight, bool per_tensor,
                                             int64_t code_max) {
  TORCH_CHECK(uses_fake_quant_kernel(weight) && weight.dim() >= 1,
              "fake_quantize_weight_symmetric: a float CPU tensor [out, ...] expected");
  return WeightFakeQuantFunction::apply(weight, per_tensor, code_max);
}

torch::Tensor fold_bn_fake_quantize_weight(const torch::Tensor& weight, const torch::Tensor& gamma,
                                           const torch::Tensor& running_var, double eps,
                                           bool per_tensor, int64_t code_max) {
  TORCH_CHECK(uses_fake_quant_kernel(weight) && weight.dim() >= 1 &&
                  uses_fake_quant_kernel(gamma) && uses_fake_quant_kernel(running_var) &&
                  gamma.dim() == 1 && gamma.size(0) == weight.size(0) &&
                  running_var.sizes() == gamma.sizes(),
              "fold_bn_fake_quantize_weight: float CPU weight [out, ...], gamma and running_var "
              "[out] expected");
  return FoldedWeightFakeQuantFunction::apply(weight, gamma, running_var.detach(), eps, per_tensor,
                                              code_max);
}

std::pair<float, float> dense_min_max(const torch::Tensor& x) {
  TORCH_CHECK(uses_fake_quant_kernel(x) && x.is_non_overlapping_and_dense() && x.numel() > 0,
              "dense_min_max: a non-empty dense float CPU tensor expected");
  // Min and max do not depend on the order of the values, so the storage is walked as
  // it lies: LibTorch's aminmax copies a channels-last tensor to contiguous first.
  const float* xp = x.data_ptr<float>();
  const int64_t n = x.numel();
  const int64_t chunks = std::min<int64_t>((n + kGrain - 1) / kGrain, at::get_num_threads() * 4);
  std::vector<MinMax> part(chunks);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
      part[c] = min_max(xp + lo, hi - lo);
    }
  });
  MinMax all = part[0];
  for (const MinMax& p : part) {
    all.lo = std::min(all.lo, p.lo);
    all.hi = std::max(all.hi, p.hi);
    all.nan |= p.nan;
  }
  if (all.nan)
    return {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::quiet_NaN()};
  return {all.lo, all.hi};
}

}  // namespace frostnas
