#include <gtest/gtest.h>

#include "common/error.h"
#include "space/frost_block.h"
#include "space/frost_net.h"
#include "space/genotype.h"
#include "space/resolved_net.h"
#include "tests/common/cell_fixtures.h"
#include "trainer/quant/cell_ops.h"
#include "trainer/quant/qat_block.h"
#include "trainer/quant/qat_cell.h"
#include "trainer/quant/qat_net.h"

using namespace frostnas;

namespace {

using frostnas::testing::all_ops_genotype;
using frostnas::testing::cell_spec;

void expect_same_layer(const ConvLayer& a, const ConvLayer& b, const std::string& what) {
  EXPECT_EQ(a.role, b.role) << what;
  EXPECT_EQ(a.in_channels, b.in_channels) << what;
  EXPECT_EQ(a.out_channels, b.out_channels) << what;
  EXPECT_EQ(a.kernel, b.kernel) << what;
  EXPECT_EQ(a.stride, b.stride) << what;
  EXPECT_EQ(a.groups, b.groups) << what;
  EXPECT_EQ(a.in_size, b.in_size) << what;
  EXPECT_EQ(a.out_size, b.out_size) << what;
  EXPECT_EQ(a.batch_norm, b.batch_norm) << what;
  EXPECT_EQ(a.relu, b.relu) << what;
  EXPECT_EQ(a.bias, b.bias) << what;
}

}  // namespace

TEST(CellOps, RegistrySweepShapesAndConvs) {
  torch::manual_seed(0);
  for (const auto& name : cell_op_names()) {
    CellOpPtr op = make_cell_op(name, CellOpOptions(16, 6));
    EXPECT_EQ(op->name(), name);
    const auto convs = op->convs();
    const auto expected = cell_op_convs(name, 16, 6);
    ASSERT_EQ(convs.size(), expected.size()) << name;
    for (size_t i = 0; i < convs.size(); ++i) expect_same_layer(convs[i], expected[i], name);
    int64_t params = 0;
    for (const auto& c : expected) params += c.params();
    int64_t counted = 0;
    for (const auto& p : op->parameters()) counted += p.numel();
    EXPECT_EQ(counted, params) << name;
    auto x = torch::relu(torch::randn({2, 16, 6, 6})).requires_grad_();
    for (const QatMode& mode : {QatMode::float_mode(), QatMode::qat()}) {
      apply_qat_mode(*op, mode);
      auto y = op->forward(x);
      EXPECT_EQ(y.sizes(), x.sizes()) << name;
      if (y.requires_grad()) y.sum().backward();
    }
  }
}

TEST(CellOps, UnknownNameListsKnownOnes) {
  try {
    make_cell_op("sep_conv_3x3", CellOpOptions(8, 4));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cell op \"sep_conv_3x3\" is unknown (allowed: none, skip, conv_1x1, dwconv_3x3, "
              "dwconv_5x5, max_pool_3x3, se, avg_pool_3x3)");
  }
}

TEST(CellOps, FloatMathOfParameterFreeOpsAndSe) {
  torch::manual_seed(1);
  auto x = torch::randn({1, 8, 5, 5});
  EXPECT_TRUE(
      torch::equal(make_cell_op("none", CellOpOptions(8, 5))->forward(x), torch::zeros_like(x)));
  EXPECT_TRUE(torch::equal(make_cell_op("skip", CellOpOptions(8, 5))->forward(x), x));
  // max pool 3x3 s1 p1 at a corner: the max of the 2x2 corner window.
  auto mp = make_cell_op("max_pool_3x3", CellOpOptions(8, 5))->forward(x);
  EXPECT_FLOAT_EQ(mp[0][0][0][0].item<float>(),
                  x[0][0].slice(0, 0, 2).slice(1, 0, 2).max().item<float>());
  // avg pool without counting the padding: the corner is the mean of 4 values.
  auto ap = make_cell_op("avg_pool_3x3", CellOpOptions(8, 5))->forward(x);
  EXPECT_NEAR(ap[0][3][0][0].item<float>(),
              x[0][3].slice(0, 0, 2).slice(1, 0, 2).mean().item<float>(), 1e-6);
  // se at float: x * sigmoid(W2 relu(W1 mean(x) + b1) + b2).
  CellOpPtr se = make_cell_op("se", CellOpOptions(8, 5));
  auto children = se->named_children();
  auto* reduce = children["reduce"]->as<torch::nn::Conv2dImpl>();
  auto* expand = children["expand"]->as<torch::nn::Conv2dImpl>();
  ASSERT_TRUE(reduce && expand);
  torch::NoGradGuard no_grad;
  reduce->bias.uniform_(-0.5, 0.5);
  expand->bias.uniform_(-0.5, 0.5);
  auto m = x.mean({2, 3});  // [1, 8]
  auto h = torch::relu(torch::matmul(m, reduce->weight.reshape({8, 8}).t()) + reduce->bias);
  auto g = torch::sigmoid(torch::matmul(h, expand->weight.reshape({8, 8}).t()) + expand->bias);
  EXPECT_TRUE(torch::allclose(se->forward(x), x * g.reshape({1, 8, 1, 1}), 1e-5, 1e-6));
}

TEST(QatCell, FrostGenotypeBlockEqualsFrostBlockUnderQat) {
  const ResolvedBlock rf = resolve_block(BlockSpec{BlockType::kFrost, 5, 40, 3, 4, 1}, 32, 8, 1.0);
  const ResolvedBlock rc = resolve_block(cell_spec(frost_genotype(), 5, 40, 3, 4, 1), 32, 8, 1.0);
  torch::manual_seed(2);
  QatBlock a(rf);
  QatBlock b(rc);
  ASSERT_TRUE(b->cell && b->cell->pre && b->cat_fq && !b->join_fq);
  EXPECT_TRUE(b->cell->node_add_fqs()[0].empty());
  EXPECT_TRUE(b->cell->out_add_fqs().empty());
  {
    torch::NoGradGuard no_grad;
    auto dst_p = b->named_parameters();
    auto dst_b = b->named_buffers();
    auto rename = [](std::string k) {
      return k.rfind("squeeze.", 0) == 0 ? "cell.pre." + k.substr(8) : k;
    };
    for (const auto& item : a->named_parameters()) dst_p[rename(item.key())].copy_(item.value());
    for (const auto& item : a->named_buffers()) dst_b[rename(item.key())].copy_(item.value());
    EXPECT_EQ(a->named_parameters().size(), dst_p.size());
    EXPECT_EQ(a->named_buffers().size(), dst_b.size());
  }
  apply_qat_mode(*a, QatMode::qat());
  apply_qat_mode(*b, QatMode::qat());
  a->train();
  b->train();
  for (int i = 0; i < 3; ++i) {
    auto x = torch::relu(torch::randn({4, 32, 8, 8}));
    auto ya = a->forward(x);
    auto yb = b->forward(x);
    EXPECT_TRUE(torch::equal(ya, yb)) << "step " << i;
  }
}

TEST(QatCell, ParameterNamesMatchTheFloatCell) {
  for (CellJoin join : {CellJoin::kConcat, CellJoin::kSum}) {
    const BlockSpec spec = cell_spec(all_ops_genotype(join), 3, 32, 3, 2, 1);
    const ResolvedBlock r = resolve_block(spec, 32, 6, 1.0);
    QatBlock q(r);
    FrostBlock f(FrostBlockOptions(32, 32)
                     .expansion(3)
                     .reduction(2)
                     .input_size(6)
                     .type(BlockType::kCell)
                     .cell(spec.cell));
    auto qp = q->named_parameters();
    auto fp = f->named_parameters();
    EXPECT_EQ(qp.size(), fp.size());
    for (const auto& item : fp) {
      auto* t = qp.find(item.key());
      ASSERT_NE(t, nullptr) << item.key();
      EXPECT_EQ(t->sizes(), item.value().sizes()) << item.key();
    }
    auto qb = q->named_buffers();
    for (const auto& item : f->named_buffers()) EXPECT_NE(qb.find(item.key()), nullptr);
    // One fake quantizer per pairwise add: node 2 one, node 3 two, output three.
    EXPECT_NE(qb.find("cell.n2_add1_fq.scale"), nullptr);
    EXPECT_NE(qb.find("cell.n3_add2_fq.scale"), nullptr);
    EXPECT_EQ(qb.find("cell.n3_add3_fq.scale"), nullptr);
    EXPECT_NE(qb.find("cell.out_add3_fq.scale"), nullptr);
    EXPECT_EQ(static_cast<bool>(q->join_fq), join == CellJoin::kSum);
    EXPECT_EQ(static_cast<bool>(q->cat_fq), join == CellJoin::kConcat);
  }
}

TEST(QatCell, NetCopiesFloatWeightsAndMatchesInFloatMode) {
  NetSpec s;
  s.name = "cells";
  s.in_channels = 1;
  s.input_size = 12;
  s.num_classes = 5;
  s.stem = StemSpec{16, 3, 1};
  s.stages = {StageSpec{{cell_spec(all_ops_genotype(CellJoin::kConcat), 3, 32, 2, 2, 1),
                         cell_spec(all_ops_genotype(CellJoin::kSum), 5, 32, 2, 4, 2)}}};
  s.head = HeadSpec{32};
  s.dropout = 0.0;
  torch::manual_seed(4);
  FrostNet f(s);
  QatNet q(s);
  copy_float_weights(*f, *q);
  f->eval();
  q->eval();
  auto x = torch::randn({2, 1, 12, 12});
  EXPECT_TRUE(torch::allclose(f->forward(x), q->forward(x), 1e-5, 1e-5));
  // And QAT runs and backpropagates through every op.
  q->enable_qat();
  q->train();
  auto y = q->forward(x);
  y.pow(2).mean().backward();
  for (const auto& p : q->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}
