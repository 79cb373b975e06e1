#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "search/latency/latency_table.h"
#include "search/latency/lut_measurer.h"
#include "tests/search/latency/lut_test_util.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"
#include "trainer/quant/qat_net.h"
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

// A saved model (INT8 artifact + float checkpoint) loads back as a BuiltNet whose INT8
// side is bit-exact and whose FP32 side is the checkpoint's fold; timed among sampled
// companions, only its own timing comes back.
TEST(LoadBuiltNet, LoadsASavedModelAndTimesItAmongCompanions) {
  lut_testing::TempDir tmp;
  const std::filesystem::path dir = tmp.file("model");
  const SearchSpace space = lut_testing::tiny_space();
  const BuiltNet net = build_net(sample(space, 2), QuantEngine::kOneDNN, 0, 1);
  save_int8_model(*net.int8, (dir / "int8").string());
  EXPECT_THROW(
      {
        try {
          load_built_net(dir.string());
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("qat.pt"), std::string::npos) << e.what();
          throw;
        }
      },
      InputError);
  torch::manual_seed(0);
  QatNet qat(net.spec, QuantEngine::kOneDNN);
  save_qat_checkpoint(*qat, (dir / "qat_checkpoint.pt").string());
  const BuiltNet loaded = load_built_net(dir.string(), 5);
  EXPECT_TRUE(loaded.spec == net.spec);
  {
    QEngineGuard guard(QuantEngine::kOneDNN);
    EXPECT_TRUE(torch::equal(loaded.int8->forward(net.input), net.int8->forward(net.input)));
  }
  EXPECT_EQ(loaded.fp32->forward(loaded.input).sizes(), (std::vector<int64_t>{1, 3}));

  TimingOptions o;
  o.warmup = 0;
  o.rounds = 2;
  const auto t =
      time_with_companions({loaded}, calibration_networks(space, 3, 0), QuantEngine::kOneDNN, o, 0);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].int8.samples, 2);
  EXPECT_GT(t[0].fp32.median_ms, 0.0);

  // A checkpoint of another architecture is refused, naming both files.
  NetSpec other_spec = net.spec;
  other_spec.name = "other";
  QatNet other(other_spec, QuantEngine::kOneDNN);
  save_qat_checkpoint(*other, (dir / "qat.pt").string());
  EXPECT_THROW(load_built_net(dir.string()), InputError);
}

}  // namespace
}  // namespace frostnas
