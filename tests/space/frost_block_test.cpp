#include <cmath>

#include <gtest/gtest.h>

#include "space/builtin_archs.h"
#include "space/channels.h"
#include "space/frost_block.h"
#include "space/frost_net.h"
#include "space/resolved_net.h"

using namespace frostnas;

namespace {
BlockSpec block(int64_t k, int64_t c, int64_t e, int64_t r, int64_t s) {
  BlockSpec b;
  b.kernel = k;
  b.out_channels = c;
  b.expansion = e;
  b.reduction = r;
  b.stride = s;
  return b;
}
}  // namespace

TEST(Channels, MakeDivisibleFollowsTheReference) {
  EXPECT_EQ(make_divisible(16), 16);
  EXPECT_EQ(make_divisible(3), 8);    // at least the divisor
  EXPECT_EQ(make_divisible(20), 24);  // int(24) // 8 * 8
  EXPECT_EQ(make_divisible(17), 16);  // 16 >= 0.9 * 17
  EXPECT_EQ(make_divisible(19), 24);  // 16 < 0.9 * 19: one more step
  EXPECT_EQ(make_divisible(91), 88);  // 88 >= 81.9
  EXPECT_EQ(make_divisible(100), 104);
  EXPECT_EQ(scaled_channels(24, 0.35), 8);   // int(8.4) = 8
  EXPECT_EQ(scaled_channels(40, 0.35), 16);  // int(14.0) = 14 -> 16
  EXPECT_EQ(scaled_channels(320, 1.25), 400);
  EXPECT_EQ(scaled_stem_channels(32, 1.25), 32);  // the stem never widens
  EXPECT_EQ(scaled_stem_channels(32, 0.5), 16);
}

TEST(ResolveBlock, FrostBlockSqueezesAndConcatenates) {
  // C_in = 40, RF 4: r = make_divisible(10) = 16, n = 56, hidden = 168.
  const ResolvedBlock b = resolve_block(block(5, 80, 3, 4, 2), 40, 28, 1.0);
  EXPECT_EQ(b.kind, BlockKind::kFrost);
  EXPECT_EQ(b.squeeze_channels, 16);
  EXPECT_EQ(b.mid_channels, 56);
  EXPECT_EQ(b.hidden_channels, 168);
  EXPECT_EQ(b.out_size, 14);
  EXPECT_FALSE(b.residual);
  ASSERT_EQ(b.convs.size(), 4u);
  EXPECT_EQ(b.convs[0].role, "squeeze");
  EXPECT_EQ(b.convs[1].in_channels, 56);
  EXPECT_EQ(b.convs[2].groups, 168);
  EXPECT_FALSE(b.convs[3].relu);
  // squeeze 40*16 + expand 56*168 + dw 168*25 + project 168*80, each + 2 BN params per channel
  EXPECT_EQ(b.params(), 640 + 32 + 9408 + 336 + 4200 + 336 + 13440 + 160);
}

TEST(ResolveBlock, FallsBackToMBConvWhenInputOverRFIsBelow8) {
  const ResolvedBlock b = resolve_block(block(5, 24, 3, 4, 2), 16, 112, 1.0);  // 16 // 4 = 4 < 8
  EXPECT_EQ(b.kind, BlockKind::kMBConv);
  EXPECT_EQ(b.squeeze_channels, 0);
  EXPECT_EQ(b.hidden_channels, 48);
  const ResolvedBlock c = resolve_block(block(5, 24, 3, 4, 2), 32, 112, 1.0);  // 32 // 4 = 8
  EXPECT_EQ(c.kind, BlockKind::kFrost);
  EXPECT_EQ(c.squeeze_channels, 8);
}

TEST(ResolveBlock, ExpansionOneHasNoSqueezeAndNoExpansion) {
  const ResolvedBlock b = resolve_block(block(3, 16, 1, 1, 1), 32, 112, 1.0);
  EXPECT_EQ(b.kind, BlockKind::kDepthwise);
  ASSERT_EQ(b.convs.size(), 2u);
  EXPECT_EQ(b.convs[0].role, "depthwise");
  EXPECT_EQ(b.convs[0].groups, 32);
}

TEST(ResolveBlock, MBConvTypeNeverSqueezes) {
  BlockSpec spec = block(3, 80, 6, 4, 1);
  spec.type = BlockType::kMBConv;
  const ResolvedBlock b = resolve_block(spec, 80, 14, 1.0);
  EXPECT_EQ(b.kind, BlockKind::kMBConv);
  EXPECT_EQ(b.hidden_channels, 480);
}

TEST(ResolveBlock, ResidualOnlyWithStrideOneAndEqualChannels) {
  EXPECT_TRUE(resolve_block(block(3, 40, 3, 4, 1), 40, 14, 1.0).residual);
  EXPECT_FALSE(resolve_block(block(3, 40, 3, 4, 2), 40, 14, 1.0).residual);
  EXPECT_FALSE(resolve_block(block(3, 48, 3, 4, 1), 40, 14, 1.0).residual);
}

TEST(ResolveBlock, KeysSeparateWhatComputesDifferently) {
  // On 16 input channels RF 4 and RF 8 both fall back to MBConv; RF 2 squeezes.
  const auto a = resolve_block(block(3, 24, 3, 4, 1), 16, 14, 1.0);  // MBConv fallback
  const auto b = resolve_block(block(3, 24, 3, 8, 1), 16, 14, 1.0);  // MBConv fallback too
  const auto c = resolve_block(block(3, 24, 3, 2, 1), 16, 14, 1.0);  // squeezes to 8
  EXPECT_EQ(a.key(), b.key());
  EXPECT_NE(a.key(), c.key());
  // EF = 1 ignores RF.
  EXPECT_EQ(resolve_block(block(3, 24, 1, 2, 1), 24, 14, 1.0).key(),
            resolve_block(block(3, 24, 1, 8, 1), 24, 14, 1.0).key());
}

TEST(FrostBlock, ModuleMatchesResolvedShapesAndParameters) {
  torch::manual_seed(0);
  FrostBlock b(
      FrostBlockOptions(40, 80).kernel(5).expansion(3).reduction(4).stride(2).input_size(28));
  ASSERT_TRUE(b->squeeze);
  ASSERT_TRUE(b->expand);
  EXPECT_EQ(b->depthwise->conv->weight.sizes(), (std::vector<int64_t>{168, 1, 5, 5}));
  EXPECT_EQ(count_parameters(*b), b->resolved().params());
  const auto y = b->forward(torch::randn({2, 40, 28, 28}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 80, 14, 14}));
}

TEST(FrostBlock, ResidualAddsTheInput) {
  torch::manual_seed(0);
  FrostBlock b(FrostBlockOptions(32, 32).kernel(3).expansion(3).reduction(4).stride(1));
  ASSERT_TRUE(b->residual());
  // With the projection's BN scaled to zero the block is exactly the identity.
  torch::NoGradGuard no_grad;
  b->project->bn->weight.zero_();
  b->eval();
  const auto x = torch::randn({1, 32, 8, 8});
  EXPECT_TRUE(torch::allclose(b->forward(x), x));
}

TEST(FrostBlock, RejectsWrongInputChannels) {
  FrostBlock b(FrostBlockOptions(32, 32));
  EXPECT_THROW(b->forward(torch::randn({1, 16, 8, 8})), c10::Error);
}

TEST(FrostNet, TenClassNetworkStartsWithCalmLogits) {
  // Kaiming fan-out on a 10-class classifier gave first logits with std above 10.
  NetSpec spec = builtin_arch("frostnet-small-1.0");
  spec.in_channels = 1;
  spec.input_size = 28;
  spec.num_classes = 10;
  torch::manual_seed(0);
  FrostNet net = build_model(spec);
  const auto w = net->classifier->weight.detach();
  // U(-1/sqrt(1280), 1/sqrt(1280)): std 1/sqrt(3 * 1280).
  EXPECT_NEAR(w.std().item<double>(), 1.0 / std::sqrt(3.0 * 1280), 0.002);
  EXPECT_LE(w.abs().max().item<double>(), 1.0 / std::sqrt(1280.0));
  EXPECT_EQ(net->classifier->bias.detach().abs().max().item<float>(), 0.0f);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(torch::randn({8, 1, 28, 28}));
  EXPECT_LT(logits.std().item<double>(), 1.0);
}
