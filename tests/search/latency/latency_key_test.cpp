#include <set>

#include <gtest/gtest.h>

#include "common/error.h"
#include "search/latency/latency_key.h"
#include "tests/search/latency/lut_test_util.h"

namespace frostnas {
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

TEST(LatencyKey, EqualComputationsGiveEqualKeys) {
  // EF = 1 has no squeeze branch: RF does not change the computation.
  EXPECT_EQ(block_lut_key(resolve_block(block(3, 24, 1, 2, 1), 24, 14, 1.0)),
            block_lut_key(resolve_block(block(3, 24, 1, 8, 1), 24, 14, 1.0)));
  const std::string k = block_lut_key(resolve_block(block(5, 40, 3, 4, 2), 24, 28, 1.0));
  EXPECT_EQ(k, block_lut_key(resolve_block(block(5, 40, 3, 4, 2), 24, 28, 1.0)));
  EXPECT_EQ(k.rfind("block:", 0), 0u) << k;
}

TEST(LatencyKey, DifferentComputationsGiveDifferentKeys) {
  const ResolvedBlock base = resolve_block(block(3, 40, 3, 4, 1), 40, 14, 1.0);
  std::set<std::string> keys{block_lut_key(base)};
  for (const ResolvedBlock& b :
       {resolve_block(block(5, 40, 3, 4, 1), 40, 14, 1.0),   // kernel
        resolve_block(block(3, 40, 6, 4, 1), 40, 14, 1.0),   // expansion
        resolve_block(block(3, 40, 3, 2, 1), 40, 14, 1.0),   // squeeze width
        resolve_block(block(3, 40, 3, 4, 2), 40, 14, 1.0),   // stride
        resolve_block(block(3, 40, 3, 4, 1), 40, 28, 1.0),   // input size
        resolve_block(block(3, 48, 3, 4, 1), 40, 14, 1.0)})  // output width, no residual
    EXPECT_TRUE(keys.insert(block_lut_key(b)).second) << block_lut_key(b);
  EXPECT_TRUE(base.residual);
  EXPECT_NE(block_lut_key(base).find(":res"), std::string::npos);
}

TEST(LatencyKey, StemHeadAndIoKeys) {
  const SearchSpace space = lut_testing::tiny_space();
  const ResolvedNet r = resolve(skeleton(space));
  EXPECT_EQ(stem_lut_key(r.stem), "stem:i1x8:o8x8:k3:s1");
  EXPECT_EQ(head_lut_key(r), "head:i16x4:h32:c3");
  EXPECT_EQ(io_lut_key(r), "io:i1x8:c3");
  EXPECT_EQ(calibration_lut_key("scale"), "calib:scale");
  const auto keys = net_lut_keys(r);
  ASSERT_EQ(keys.size(), r.blocks.size() + 3);
  EXPECT_EQ(keys.front(), stem_lut_key(r.stem));
  EXPECT_EQ(keys[1], block_lut_key(r.blocks[0]));
  EXPECT_EQ(keys[keys.size() - 2], head_lut_key(r));
  EXPECT_EQ(keys.back(), io_lut_key(r));
}

TEST(LatencyKey, ItemsCoverEverySampledNetwork) {
  const SearchSpace space = lut_testing::tiny_space();
  const auto items = lut_items(space);
  std::set<std::string> keys;
  for (const auto& item : items) EXPECT_TRUE(keys.insert(item.key).second) << item.key;
  // stem + 4 blocks of slot 0 (k 3/5 x EF 1/3) + 4 of slot 1 + head + io.
  EXPECT_EQ(items.size(), 1u + 4u + 4u + 2u);
  EXPECT_EQ(items.front().kind, LutItem::Kind::kStem);
  EXPECT_EQ(items.back().kind, LutItem::Kind::kIo);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    for (const auto& key : net_lut_keys(resolve(sample(space, seed))))
      EXPECT_TRUE(keys.count(key)) << "seed " << seed << ": " << key;
  }
}

TEST(LatencyKey, WeightSchemeIsPartOfEveryKeyWithWeights) {
  const SearchSpace space = lut_testing::tiny_space();
  const ResolvedNet r = resolve(skeleton(space));
  // Per channel: the keys of tables built before the scheme existed.
  EXPECT_EQ(stem_lut_key(r.stem, WeightQuant::kPerChannel), "stem:i1x8:o8x8:k3:s1");
  EXPECT_EQ(stem_lut_key(r.stem, WeightQuant::kPerTensor), "stem:i1x8:o8x8:k3:s1:wpt");
  EXPECT_EQ(head_lut_key(r, WeightQuant::kPerTensor), "head:i16x4:h32:c3:wpt");
  EXPECT_EQ(calibration_lut_key("scale", WeightQuant::kPerTensor), "calib:scale:wpt");
  EXPECT_NE(block_lut_key(r.blocks[0], WeightQuant::kPerTensor), block_lut_key(r.blocks[0]));
  const auto pc = lut_items(space, WeightQuant::kPerChannel);
  const auto pt = lut_items(space, WeightQuant::kPerTensor);
  ASSERT_EQ(pc.size(), pt.size());
  std::set<std::string> all;
  for (const auto& item : pc) all.insert(item.key);
  size_t shared = 0;
  for (const auto& item : pt) {
    if (!all.insert(item.key).second) {
      // Only the io entry (quantize the input, dequantize the logits) has no weights.
      EXPECT_EQ(item.kind, LutItem::Kind::kIo) << item.key;
      ++shared;
    }
  }
  EXPECT_EQ(shared, 1u);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    for (const auto& key : net_lut_keys(resolve(sample(space, seed)), WeightQuant::kPerTensor))
      EXPECT_TRUE(all.count(key)) << key;
  }
}

TEST(LatencyKey, PrecisionNames) {
  EXPECT_EQ(to_string(Precision::kInt8), "int8");
  EXPECT_EQ(to_string(Precision::kFP32), "fp32");
  EXPECT_EQ(parse_precision("fp32"), Precision::kFP32);
  try {
    parse_precision("fp16", "--precision");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "--precision: unknown precision \"fp16\" (allowed: int8, fp32)");
  }
}

}  // namespace
}  // namespace frostnas
