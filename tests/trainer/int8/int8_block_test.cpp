#include <gtest/gtest.h>

#include "space/resolved_net.h"
#include "tests/trainer/int8/int8_test_util.h"
#include "trainer/int8/convert.h"
#include "trainer/int8/int8_ops.h"
#include "trainer/quant/qat_block.h"

using namespace frostnas;
using namespace frostnas::testing;

namespace {

struct BlockCase {
  const char* name;
  BlockSpec spec;
  int64_t in_channels;
  BlockKind kind;
  bool residual;
};

/// Max |INT8 - fake quant| of the block output, in output quantization steps.
double block_error_steps(const BlockCase& c, QuantEngine engine, uint64_t seed) {
  const int64_t size = 8;
  ResolvedBlock rb = resolve_block(c.spec, c.in_channels, size, 1.0);
  EXPECT_EQ(rb.kind, c.kind) << c.name;
  EXPECT_EQ(rb.residual, c.residual) << c.name;
  QatBlock block(rb, engine);
  ActFakeQuant in_fq(act_fake_quant_options(engine));
  perturb_bn(*block, seed);
  qat_train_and_freeze(block, *in_fq, {4, c.in_channels, size, size}, 4, seed + 1);

  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, c.in_channels, size, size});
  auto x_fq = in_fq->forward(x);
  auto y_fq = block->forward(x_fq);

  Int8Block int8 = convert_to_int8(*block, engine);
  auto qx = quantize_activation(x, in_fq->qparams());
  EXPECT_TRUE(torch::equal(qx.dequantize(), x_fq)) << c.name << ": input quantization";
  auto qy = int8.forward(qx);
  EXPECT_TRUE(qy.is_quantized());
  EXPECT_TRUE(qy.is_contiguous(at::MemoryFormat::ChannelsLast)) << c.name;
  EXPECT_EQ(qy.sizes(), y_fq.sizes());
  const QParams out = c.residual ? *int8.add_qparams() : int8.project().out_qparams();
  EXPECT_EQ(qy.q_scale(), out.scale);
  // Non-trivial range: the output spans many quantization steps.
  EXPECT_GT((y_fq.max() - y_fq.min()).item<double>() / out.scale, 15.0) << c.name;
  const double err = (qy.dequantize() - y_fq).abs().max().item<double>() / out.scale;
  // The comparison can fail: without fake quantization the float block differs by
  // more than half a step.
  apply_qat_mode(*block, QatMode{true, false, false, true});
  const double float_err =
      (qy.dequantize() - block->forward(x)).abs().max().item<double>() / out.scale;
  std::printf("        %-20s float vs INT8 %.3f steps\n", c.name, float_err);
  EXPECT_GT(float_err, 0.5) << c.name;
  return err;
}

const std::vector<BlockCase>& cases() {
  static const std::vector<BlockCase> c = {
      {"frost_residual", BlockSpec{BlockType::kFrost, 3, 32, 3, 4, 1}, 32, BlockKind::kFrost, true},
      {"frost_no_residual", BlockSpec{BlockType::kFrost, 5, 40, 3, 4, 1}, 32, BlockKind::kFrost,
       false},
      {"frost_stride2", BlockSpec{BlockType::kFrost, 5, 40, 6, 2, 2}, 24, BlockKind::kFrost, false},
      {"mbconv_fallback", BlockSpec{BlockType::kFrost, 3, 16, 3, 4, 1}, 16, BlockKind::kMBConv,
       true},
      {"mbconv_type", BlockSpec{BlockType::kMBConv, 5, 24, 4, 4, 2}, 16, BlockKind::kMBConv, false},
      {"depthwise_ef1", BlockSpec{BlockType::kFrost, 3, 16, 1, 4, 1}, 16, BlockKind::kDepthwise,
       true},
      {"depthwise_ef1_k7", BlockSpec{BlockType::kFrost, 7, 24, 1, 4, 1}, 16, BlockKind::kDepthwise,
       false},
  };
  return c;
}

}  // namespace

TEST(Int8Block, MatchesFakeQuantOneDNN) {
  uint64_t seed = 100;
  for (const auto& c : cases()) {
    const double steps = block_error_steps(c, QuantEngine::kOneDNN, seed += 10);
    std::printf("onednn  %-20s max error %.3f steps\n", c.name, steps);
    EXPECT_LE(steps, 2.0) << c.name;
  }
}

TEST(Int8Block, MatchesFakeQuantQNNPACK) {
  if (!quant_engine_available(QuantEngine::kQNNPACK)) GTEST_SKIP() << "no QNNPACK";
  uint64_t seed = 200;
  for (const auto& c : cases()) {
    const double steps = block_error_steps(c, QuantEngine::kQNNPACK, seed += 10);
    std::printf("qnnpack %-20s max error %.3f steps\n", c.name, steps);
    EXPECT_LE(steps, 2.0) << c.name;
  }
}

TEST(Int8ConvBnAct, RejectsWrongShapes) {
  ConvLayer l;
  l.role = "expand";
  l.in_channels = 4;
  l.out_channels = 8;
  l.kernel = 1;
  auto codes = torch::zeros({8, 3, 1, 1}, torch::kChar);
  EXPECT_THROW(Int8ConvBnAct(l, codes, torch::ones({8}), torch::zeros({8}), QParams{0.1, 0},
                             QuantEngine::kOneDNN),
               c10::Error);
}

TEST(Int8ConvBnAct, PacksOncePerInputShapeAndThreadCountOnOneDNN) {
  if (!quant_engine_available(QuantEngine::kOneDNN)) GTEST_SKIP() << "no oneDNN engine";
  torch::manual_seed(3);
  ConvLayer l;
  l.role = "expand";
  l.in_channels = 8;
  l.out_channels = 16;
  l.kernel = 3;
  l.relu = true;
  const QParams in{0.05, 10}, out{0.04, 0};
  auto conv = Int8ConvBnAct::from_float(l, torch::randn({16, 8, 3, 3}) * 0.2, torch::randn({16}),
                                        out, QuantEngine::kOneDNN);
  Int8ConvBnAct fresh(l, conv.codes(), conv.scales(), conv.bias(), out, QuantEngine::kOneDNN);
  QEngineGuard guard(QuantEngine::kOneDNN);
  torch::NoGradGuard no_grad;
  auto x4 = quantize_activation(torch::randn({4, 8, 6, 6}), in);
  auto x1 = quantize_activation(torch::randn({1, 8, 6, 6}), in);
  EXPECT_EQ(conv.pack_count(), 1u);
  auto y4 = conv.forward(x4);  // the first call takes the constructor's pack
  EXPECT_EQ(conv.pack_count(), 1u);
  auto y1 = conv.forward(x1);  // a new shape gets its own
  EXPECT_EQ(conv.pack_count(), 2u);
  EXPECT_TRUE(torch::equal(conv.forward(x1).int_repr(), y1.int_repr()));
  EXPECT_TRUE(torch::equal(conv.forward(x4).int_repr(), y4.int_repr()));
  EXPECT_EQ(conv.pack_count(), 2u);
  // The same results as a conv called at batch 1 first, and as its rows at batch 4.
  EXPECT_TRUE(torch::equal(fresh.forward(x1).int_repr(), y1.int_repr()));
  EXPECT_TRUE(torch::equal(fresh.forward(x4).int_repr(), y4.int_repr()));
  Int8ConvBnAct copy = conv;  // copies share the packs
  copy.forward(x1);
  EXPECT_EQ(copy.pack_count(), 2u);
  // Another thread count is another primitive.
  const int threads = at::get_num_threads();
  at::set_num_threads(threads == 1 ? 2 : 1);
  EXPECT_TRUE(torch::equal(conv.forward(x1).int_repr(), y1.int_repr()));
  at::set_num_threads(threads);
  EXPECT_EQ(conv.pack_count(), 3u);
  // Past kMaxPacks shapes share the first pack and stay exact.
  for (int64_t side = 7; side < 7 + 2 * static_cast<int64_t>(Int8ConvBnAct::kMaxPacks); ++side) {
    auto x = quantize_activation(torch::randn({1, 8, side, side}), in);
    EXPECT_TRUE(torch::equal(conv.forward(x).int_repr(), fresh.forward(x).int_repr())) << side;
  }
  EXPECT_EQ(conv.pack_count(), Int8ConvBnAct::kMaxPacks);
}
