#include <gtest/gtest.h>

#include "search/latency/lut_measurer.h"
#include "tests/search/latency/lut_test_util.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {
namespace {

// The real measurer on the tiny space, one round: every item is built (QAT
// calibration, convert_to_int8, fold_to_fp32) and run. No timing values are asserted.
TEST(TorchLutMeasurer, BuildsAndRunsEveryItemInBothPrecisions) {
  TorchMeasureOptions o;
  o.timing.warmup = 1;
  o.timing.rounds = 2;
  o.timing.min_sample_ms = 0.0;
  o.calibration_batches = 1;
  const auto items = lut_items(lut_testing::tiny_space());
  TorchLutMeasurer m(o);
  const auto t = m.measure(items);
  ASSERT_EQ(t.size(), items.size());
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].int8.samples, 2) << items[i].key;
    EXPECT_EQ(t[i].fp32.samples, 2) << items[i].key;
    EXPECT_GT(t[i].int8.median_ms, 0.0) << items[i].key;
    EXPECT_GT(t[i].fp32.median_ms, 0.0) << items[i].key;
  }
}

TEST(TorchLutMeasurer, BuiltNetworksAgreeAcrossPrecisions) {
  const NetSpec spec = sample(lut_testing::tiny_space(), 1);
  const BuiltNet net = build_net(spec, QuantEngine::kOneDNN, 0, 1);
  at::Tensor y8, y32;
  {
    QEngineGuard guard(QuantEngine::kOneDNN);
    y8 = net.int8->forward(net.input);
  }
  y32 = net.fp32->forward(net.input);
  ASSERT_EQ(y8.sizes(), y32.sizes());
  EXPECT_EQ(y8.size(1), 3);
  TimingOptions o;
  o.warmup = 0;
  o.rounds = 1;
  const auto t = time_networks({net}, QuantEngine::kOneDNN, o);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].int8.samples, 1);
}

}  // namespace
}  // namespace frostnas
