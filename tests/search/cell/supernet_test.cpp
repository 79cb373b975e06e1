#include "search/cell/supernet.h"
#include "search/cell/mixed_op.h"

#include <cmath>

#include <gtest/gtest.h>

#include "search/cell/derivation.h"

namespace frostnas {
namespace {

TEST(MixedOp, WeightedSumOfItsOps) {
  torch::manual_seed(0);
  MixedOp op(MixedOpOptions(8, 6, {"none", "skip", "max_pool_3x3", "conv_1x1"}));
  op->eval();
  const torch::Tensor x = torch::randn({2, 8, 6, 6}).relu();
  const torch::Tensor w = torch::tensor({0.1, 0.2, 0.3, 0.4});
  const torch::Tensor y = op->forward(x, w);
  // none: 0; skip: x; max pool 3x3 stride 1 pad 1 then batch norm without affine (in eval
  // mode its fresh running statistics divide by sqrt(1 + eps)); conv_1x1: the op itself.
  const double bn = 1.0 / std::sqrt(1.0 + 1e-5);
  const torch::Tensor want = 0.2 * x + 0.3 * bn * torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}) +
                             0.4 * op->op(3)->forward(x);
  EXPECT_TRUE(torch::allclose(y, want, 1e-6, 1e-6));
  EXPECT_EQ(op->op(0), nullptr);
  EXPECT_EQ(op->op_names()[2], "max_pool_3x3");
  // Registered by name: the conv's parameters are reachable.
  bool conv_params = false;
  for (const auto& p : op->named_parameters())
    conv_params = conv_params || p.key().rfind("conv_1x1.", 0) == 0;
  EXPECT_TRUE(conv_params);
}

TEST(MixedOp, HandComputedValuesAndWeightGradient) {
  MixedOp op(MixedOpOptions(8, 3, {"none", "skip", "max_pool_3x3"}));
  op->eval();
  torch::Tensor x = torch::zeros({1, 8, 3, 3});
  x[0][0][1][1] = 2.0;  // one peak: max pool spreads it over the whole 3x3 map
  const torch::Tensor w = torch::tensor({0.5, 0.25, 0.25}).set_requires_grad(true);
  const torch::Tensor y = op->forward(x, w);
  // The pool's batch norm (eval mode, fresh statistics) divides by sqrt(1 + eps).
  const float bn = static_cast<float>(1.0 / std::sqrt(1.0 + 1e-5));
  EXPECT_FLOAT_EQ(y[0][0][1][1].item<float>(), 0.25f * 2 + 0.25f * 2 * bn);
  EXPECT_FLOAT_EQ(y[0][0][0][0].item<float>(), 0.25f * 2 * bn);
  EXPECT_FLOAT_EQ(y[0][1].abs().sum().item<float>(), 0.0f);
  y.sum().backward();
  // d sum / d w_k = sum(op_k(x)): none 0, skip 2, max pool 9 * 2 (times the norm's factor).
  EXPECT_FLOAT_EQ(w.grad()[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(w.grad()[1].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(w.grad()[2].item<float>(), 18.0f * bn);
}

TEST(MixedOp, PoolingOpsAreNormalizedWithoutAffineParameters) {
  torch::manual_seed(3);
  MixedOp op(MixedOpOptions(4, 6, {"max_pool_3x3", "avg_pool_3x3", "conv_1x1"}));
  op->train();
  const torch::Tensor x = 5.0 * torch::rand({8, 4, 6, 6}) + 3.0;
  // Only the max pool weighted: in training the batch norm leaves each channel with mean 0
  // and variance 1, whatever the input's scale.
  const torch::Tensor y = op->forward(x, torch::tensor({1.0, 0.0, 0.0}));
  EXPECT_LT(y.mean({0, 2, 3}).abs().max().item<float>(), 1e-4f);
  EXPECT_NEAR(y.var({0, 2, 3}, /*unbiased=*/false).mean().item<float>(), 1.0f, 1e-3f);
  int64_t norms = 0, norm_params = 0;
  for (const auto& m : op->named_modules()) norms += m.key().find("_bn") != std::string::npos;
  for (const auto& p : op->named_parameters())
    norm_params += p.key().find("_bn") != std::string::npos;
  EXPECT_EQ(norms, 2);
  EXPECT_EQ(norm_params, 0);
}

TEST(MixedOp, SkipDropoutOnlyInTraining) {
  torch::manual_seed(1);
  MixedOp op(MixedOpOptions(8, 4, {"skip"}));
  op->set_skip_dropout(0.5);
  const torch::Tensor x = torch::ones({4, 8, 4, 4});
  const torch::Tensor w = torch::ones({1});
  op->eval();
  EXPECT_TRUE(torch::equal(op->forward(x, w), x));
  op->train();
  const torch::Tensor y = op->forward(x, w);
  // Inverted dropout: every element is 0 or 1 / (1 - p) = 2, and some of each.
  EXPECT_TRUE(torch::logical_or(y == 0, y == 2).all().item<bool>());
  EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
  EXPECT_GT((y == 2).sum().item<int64_t>(), 0);
  EXPECT_THROW(op->set_skip_dropout(1.0), c10::Error);
}

TEST(Supernet, BlockShapesGrowWithDepth) {
  SupernetOptions o;  // 28x28x1, stem 16, sections {16, 32}, concat, rf 2
  o.depth(5);
  const auto s = supernet_block_shapes(o);
  ASSERT_EQ(s.size(), 5u);
  // Sections: block b in b * 2 / 5 -> 0, 0, 0, 1, 1.
  EXPECT_EQ(s[0].in_size, 14);
  EXPECT_EQ(s[2].out_channels, 16);
  EXPECT_TRUE(s[2].residual);
  EXPECT_EQ(s[3].stride, 2);
  EXPECT_EQ(s[3].out_channels, 32);
  EXPECT_EQ(s[3].out_size, 7);
  EXPECT_FALSE(s[3].residual);
  EXPECT_EQ(s[0].cell_channels, 8);   // make_divisible(16 / 2)
  EXPECT_EQ(s[4].cell_channels, 16);  // make_divisible(32 / 2)
  o.join(CellJoin::kSum);
  EXPECT_EQ(supernet_block_shapes(o)[4].cell_channels, 32);
  o.depth(1);
  EXPECT_THROW(supernet_block_shapes(o), c10::Error);
}

TEST(Supernet, ForwardFloatAndQatWithPrunedEdges) {
  torch::manual_seed(0);
  std::vector<std::vector<std::string>> ops(3, {"skip", "dwconv_3x3"});
  ops[1] = {"none", "conv_1x1"};
  SupernetOptions o;
  o.stem_channels(8).channels({8, 16}).depth(2).nodes(2).head_channels(16).edge_ops(ops);
  Supernet net(o);
  EXPECT_EQ(net->ops_per_edge(), 2);
  ASSERT_EQ(net->block_modules().size(), 2u);
  EXPECT_EQ(net->block_modules()[0]->edge_modules().size(), 3u);
  EXPECT_EQ(net->block_modules()[0]->edge_modules()[1]->op_names(), ops[1]);
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  torch::Tensor alphas = torch::zeros({3, 2}).set_requires_grad(true);
  net->train();
  torch::Tensor y = net->forward(x, torch::softmax(alphas, -1));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{4, 10}));
  y.logsumexp(1).sum().backward();
  ASSERT_TRUE(alphas.grad().defined());
  EXPECT_GT(alphas.grad().abs().sum().item<double>(), 0.0);

  apply_qat_mode(*net, QatMode::qat());
  EXPECT_TRUE(net->mode().fake_quant);
  y = net->forward(x, torch::softmax(alphas, -1).detach());
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  SearchBlock first = net->block_modules()[0];
  EXPECT_TRUE(first->node_fq[0]->as<ActFakeQuantImpl>()->calibrated());
  EXPECT_THROW(net->forward(x, torch::zeros({3, 3})), c10::Error);
}

}  // namespace
}  // namespace frostnas
