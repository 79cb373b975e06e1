#include "trainer/optim/boost_kernel.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

namespace frostnas {

namespace {

std::atomic<BoostKernel> g_boost_kernel{BoostKernel::kFused};

// Elements per task of the parallel loop: large enough that a task outweighs its start-up.
constexpr int64_t kBoostGrain = 16384;

uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

torch::Tensor reference_boost(const torch::Tensor& grad, torch::Tensor& exp_min,
                              torch::Tensor& exp_max, const BoostStep& s) {
  const auto g_abs = grad.abs();
  // min / max are taken against the old statistics, before they decay.
  const auto new_min = torch::min(exp_min, g_abs);
  exp_min.mul_(s.beta).add_(new_min, 1 - s.beta).div_(s.bias_correction);
  const auto new_max = torch::max(exp_max, g_abs);
  exp_max.mul_(s.beta).add_(new_max, 1 - s.beta).div_(s.bias_correction);
  if (s.warmup) return grad;
  auto noise = torch::empty_like(grad).exponential_(1.0);
  noise.mul_((exp_max - exp_min) * s.noise_scale);
  if (s.toss_coin) noise.mul_(torch::empty_like(grad).bernoulli_(0.5));
  noise.mul_(grad.sign());
  if (s.clip_by > 0) noise.clamp_(-s.clip_by, s.clip_by);
  return grad + noise;
}

/// The constants of fused_boost in the element type.
struct FusedConstants {
  float beta, one_minus_beta, inv_bc, scale, clip;
  bool warmup, toss_coin;
  uint64_t key;
};

void fused_range(const float* g, float* mn, float* mx, float* out, int64_t begin, int64_t end,
                 const FusedConstants& c) {
  for (int64_t i = begin; i < end; ++i) {
    const float a = std::abs(g[i]);
    const float lo = (c.beta * mn[i] + c.one_minus_beta * std::min(mn[i], a)) * c.inv_bc;
    const float hi = (c.beta * mx[i] + c.one_minus_beta * std::max(mx[i], a)) * c.inv_bc;
    mn[i] = lo;
    mx[i] = hi;
    if (c.warmup) continue;
    const BoostNoiseDraw d = boost_noise_draw(c.key, i);
    float noise = (c.toss_coin && !d.keep) ? 0.0f : d.magnitude * (hi - lo) * c.scale;
    noise = g[i] > 0 ? noise : (g[i] < 0 ? -noise : 0.0f);
    if (c.clip > 0) noise = std::clamp(noise, -c.clip, c.clip);
    out[i] = g[i] + noise;
  }
}

torch::Tensor fused_boost(const torch::Tensor& grad, torch::Tensor& exp_min, torch::Tensor& exp_max,
                          const BoostStep& s) {
  const FusedConstants c{static_cast<float>(s.beta),
                         static_cast<float>(1 - s.beta),
                         static_cast<float>(1 / s.bias_correction),
                         static_cast<float>(s.noise_scale),
                         static_cast<float>(s.clip_by),
                         s.warmup,
                         s.toss_coin,
                         s.warmup ? 0 : draw_boost_noise_key()};
  torch::Tensor out = s.warmup ? grad : torch::empty_like(grad, torch::MemoryFormat::Preserve);
  const float* g = grad.data_ptr<float>();
  float* mn = exp_min.data_ptr<float>();
  float* mx = exp_max.data_ptr<float>();
  float* o = s.warmup ? nullptr : out.data_ptr<float>();
  at::parallel_for(0, grad.numel(), kBoostGrain,
                   [&](int64_t begin, int64_t end) { fused_range(g, mn, mx, o, begin, end, c); });
  return out;
}

}  // namespace

void set_boost_kernel(BoostKernel kernel) { g_boost_kernel = kernel; }
BoostKernel boost_kernel() { return g_boost_kernel; }

BoostNoiseDraw boost_noise_draw(uint64_t key, int64_t index) {
  const uint64_t z = splitmix64(key + static_cast<uint64_t>(index + 1) * 0x9E3779B97F4A7C15ULL);
  // u in (0, 1] from the top 24 bits, so -log(u) is finite; the coin from the lowest bit.
  const float u = static_cast<float>((z >> 40) + 1) * (1.0f / 16777216.0f);
  return {-std::log(u), (z & 1) != 0};
}

uint64_t draw_boost_noise_key() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

bool can_fuse_boost(const torch::Tensor& grad, const torch::Tensor& exp_min,
                    const torch::Tensor& exp_max) {
  for (const auto* t : {&grad, &exp_min, &exp_max}) {
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat || t->is_sparse() ||
        !t->is_non_overlapping_and_dense() || t->sizes() != grad.sizes() ||
        t->strides() != grad.strides())
      return false;
  }
  return true;
}

torch::Tensor boost_gradient(const torch::Tensor& grad, torch::Tensor& exp_min,
                             torch::Tensor& exp_max, const BoostStep& step) {
  // State loaded from a checkpoint is contiguous while a channels-last parameter's gradient
  // is not; giving the state the gradient's layout keeps a resumed run on the fused path,
  // and so on the same noise, as the run it continues.
  for (torch::Tensor* t : {&exp_min, &exp_max}) {
    if (t->sizes() == grad.sizes() && t->strides() != grad.strides() &&
        grad.is_non_overlapping_and_dense())
      *t = torch::empty_like(grad, torch::MemoryFormat::Preserve).copy_(*t);
  }
  if (boost_kernel() == BoostKernel::kFused && can_fuse_boost(grad, exp_min, exp_max))
    return fused_boost(grad, exp_min, exp_max, step);
  return reference_boost(grad, exp_min, exp_max, step);
}

}  // namespace frostnas
