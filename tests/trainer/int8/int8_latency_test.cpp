// Latency of INT8 vs FP32-folded inference, printed, never asserted. Disabled by
// default: run with --gtest_also_run_disabled_tests --gtest_filter='*Latency*'.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "space/builtin_archs.h"
#include "tests/trainer/int8/int8_test_util.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_ops.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median ms per call of `a` and `b`, measured in interleaved rounds.
template <class A, class B>
std::pair<double, double> interleaved_ms(A&& a, B&& b, int rounds, int iters) {
  for (int i = 0; i < 5; ++i) {
    a();
    b();
  }
  std::vector<double> ta, tb;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) a();
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) b();
    auto t2 = std::chrono::steady_clock::now();
    ta.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() / iters);
    tb.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count() / iters);
  }
  return {median(ta), median(tb)};
}

}  // namespace

TEST(Int8Latency, DISABLED_BlockAndNetOneThread) {
  torch::set_num_threads(1);
  torch::NoGradGuard outer;
  {
    // One Frost block, 40 channels at 14x14, k5 EF3 RF4, residual.
    ResolvedBlock rb = resolve_block(BlockSpec{BlockType::kFrost, 5, 40, 3, 4, 1}, 40, 14, 1.0);
    QatBlock block(rb);
    ActFakeQuant in_fq(act_fake_quant_options(QuantEngine::kOneDNN));
    perturb_bn(*block, 1);
    {
      torch::AutoGradMode on(true);
      qat_train_and_freeze(block, *in_fq, {4, 40, 14, 14}, 2, 2);
    }
    auto x = torch::randn({1, 40, 14, 14});
    Int8Block int8 = convert_to_int8(*block, QuantEngine::kOneDNN);
    FoldedBlock fp32 = fold_to_fp32(*block);
    auto qx = quantize_activation(x, in_fq->qparams());
    auto xf = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto [ti, tf] = interleaved_ms([&] { int8.forward(qx); }, [&] { fp32.forward(xf); }, 21, 50);
    std::printf("block %s: INT8 %.3f ms, FP32 folded %.3f ms, ratio %.2f\n", rb.key().c_str(), ti,
                tf, ti / tf);
  }
  for (const std::string name : {"tiny", "frostnet-small-0.5"}) {
    NetSpec spec = name == "tiny" ? tiny_net() : builtin_arch(name);
    QatNet net(spec);
    perturb_bn(*net, 3);
    net->enable_qat();
    net->freeze_bn();
    net->eval();
    const auto shape = std::vector<int64_t>{1, spec.in_channels, spec.input_size, spec.input_size};
    for (int i = 0; i < 2; ++i) net->forward(torch::randn(shape));
    net->freeze_observers();
    Int8Net int8 = convert_to_int8(*net);
    FoldedNet fp32 = fold_to_fp32(*net);
    auto x = torch::randn(shape);
    auto qx = int8.quantize_input(x);
    const int iters = name == "tiny" ? 50 : 5;
    auto [ti, tf] =
        interleaved_ms([&] { int8.forward_quantized(qx); }, [&] { fp32.forward(x); }, 11, iters);
    std::printf("net %s (%lldx%lld): INT8 %.3f ms, FP32 folded %.3f ms, ratio %.2f\n", name.c_str(),
                static_cast<long long>(spec.input_size), static_cast<long long>(spec.input_size),
                ti, tf, ti / tf);
  }
}
