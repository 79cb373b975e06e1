#include "search/cell/derivation.h"
#include "common/error.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

namespace frostnas {
namespace {

/// Three nodes, six edges, ops [none, skip, conv_1x1, max_pool_3x3] on every edge.
/// Uncapped derivation by hand:
///   node 1: only 0->1, argmax non-none = skip (.50)
///   node 2: 0->2 strength .35 (skip), 1->2 strength .45 (conv_1x1) -> both
///   node 3: 0->3 .30 (skip), 1->3 .40 (conv_1x1), 2->3 .42 (skip) -> 1->3 and 2->3
ArchWeights hand_weights() {
  ArchWeights w;
  w.nodes = 3;
  const std::vector<std::string> ops{"none", "skip", "conv_1x1", "max_pool_3x3"};
  w.ops.assign(6, ops);
  w.weights = {{0.10, 0.50, 0.30, 0.10},   // 0->1
               {0.40, 0.35, 0.15, 0.10},   // 0->2
               {0.05, 0.20, 0.45, 0.30},   // 1->2
               {0.60, 0.30, 0.05, 0.05},   // 0->3
               {0.10, 0.25, 0.40, 0.25},   // 1->3
               {0.20, 0.42, 0.18, 0.20}};  // 2->3
  return w;
}

Genotype make(std::vector<std::vector<CellEdge>> nodes) {
  Genotype g;
  g.join = CellJoin::kConcat;
  g.nodes = std::move(nodes);
  return g;
}

TEST(CellEdges, OrderAndCount) {
  EXPECT_EQ(cell_edge_count(3), 6);
  const auto e = cell_edge_slots(3);
  ASSERT_EQ(e.size(), 6u);
  EXPECT_EQ(e[0], (CellEdgeSlot{0, 1}));
  EXPECT_EQ(e[2], (CellEdgeSlot{1, 2}));
  EXPECT_EQ(e[3], (CellEdgeSlot{0, 3}));
  EXPECT_EQ(e[5], (CellEdgeSlot{2, 3}));
  EXPECT_EQ(to_string(e[4]), "1->3");
}

TEST(CellPrune, KeepsTopKInEdgeOrder) {
  ArchWeights w;
  w.nodes = 1;
  w.ops = {cell_op_names()};
  // none skip conv dw3 dw5 maxpool se avgpool
  w.weights = {{0.30, 0.05, 0.20, 0.10, 0.10, 0.15, 0.04, 0.06}};
  EXPECT_EQ(
      prune_edge_ops(w, 5, false)[0],
      (std::vector<std::string>{"none", "conv_1x1", "dwconv_3x3", "dwconv_5x5", "max_pool_3x3"}));
  // dwconv_3x3 and dwconv_5x5 tie at .10: the op listed first stays.
  EXPECT_EQ(prune_edge_ops(w, 4, false)[0],
            (std::vector<std::string>{"none", "conv_1x1", "dwconv_3x3", "max_pool_3x3"}));
  EXPECT_EQ(prune_edge_ops(w, 20, false)[0], cell_op_names());
}

TEST(CellPrune, LastStageDropsNoneFirst) {
  ArchWeights w;
  w.nodes = 1;
  w.ops = {{"none", "skip", "conv_1x1", "max_pool_3x3"}};
  w.weights = {{0.40, 0.10, 0.30, 0.20}};
  EXPECT_EQ(prune_edge_ops(w, 2, false)[0], (std::vector<std::string>{"none", "conv_1x1"}));
  EXPECT_EQ(prune_edge_ops(w, 2, true)[0], (std::vector<std::string>{"conv_1x1", "max_pool_3x3"}));
  EXPECT_EQ(prune_edge_ops(w, 3, true)[0],
            (std::vector<std::string>{"skip", "conv_1x1", "max_pool_3x3"}));
}

TEST(CellPrune, EveryEdgeOnItsOwn) {
  const auto ops = prune_edge_ops(hand_weights(), 2, true);
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0], (std::vector<std::string>{"skip", "conv_1x1"}));
  EXPECT_EQ(ops[1], (std::vector<std::string>{"skip", "conv_1x1"}));
  EXPECT_EQ(ops[2], (std::vector<std::string>{"conv_1x1", "max_pool_3x3"}));
  EXPECT_EQ(ops[3], (std::vector<std::string>{"skip", "conv_1x1"}));      // .05 tie: conv first
  EXPECT_EQ(ops[5], (std::vector<std::string>{"skip", "max_pool_3x3"}));  // .20 beats .18
}

TEST(CellDerive, DartsRulesByHand) {
  const Genotype g = derive_genotype_uncapped(hand_weights(), CellJoin::kConcat);
  EXPECT_EQ(g,
            make({{{0, "skip"}}, {{0, "skip"}, {1, "conv_1x1"}}, {{1, "conv_1x1"}, {2, "skip"}}}));
  EXPECT_EQ(count_skips(g), 3);
  // Within the cap nothing changes.
  std::vector<CellEdgeSlot> removed;
  EXPECT_EQ(derive_genotype(hand_weights(), CellJoin::kConcat, 3, &removed), g);
  EXPECT_TRUE(removed.empty());
}

TEST(CellDerive, SkipCapTwoRemovesTheWeakestSkip) {
  // Derived skips: 0->1 (.50), 0->2 (.35), 2->3 (.42). The weakest, 0->2, loses skip; its
  // next-best non-none op is conv_1x1 (.15), still the second edge of node 2.
  std::vector<CellEdgeSlot> removed;
  const Genotype g = derive_genotype(hand_weights(), CellJoin::kConcat, 2, &removed);
  EXPECT_EQ(
      g, make({{{0, "skip"}}, {{0, "conv_1x1"}, {1, "conv_1x1"}}, {{1, "conv_1x1"}, {2, "skip"}}}));
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], (CellEdgeSlot{0, 2}));
}

TEST(CellDerive, SkipCapOneReselectsIncomingEdges) {
  // Second pass: skips 0->1 (.50) and 2->3 (.42): 2->3 loses skip and falls to max_pool
  // (.20), so node 3 takes 1->3 (.40) and 0->3 (skip .30). Third pass: 0->3 loses skip
  // (conv .05), node 3 goes back to 1->3 and 2->3 (max_pool_3x3).
  std::vector<CellEdgeSlot> removed;
  const Genotype g = derive_genotype(hand_weights(), CellJoin::kSum, 1, &removed);
  Genotype want = make(
      {{{0, "skip"}}, {{0, "conv_1x1"}, {1, "conv_1x1"}}, {{1, "conv_1x1"}, {2, "max_pool_3x3"}}});
  want.join = CellJoin::kSum;
  EXPECT_EQ(g, want);
  EXPECT_EQ(removed, (std::vector<CellEdgeSlot>{{0, 2}, {2, 3}, {0, 3}}));
  EXPECT_EQ(count_skips(derive_genotype(hand_weights(), CellJoin::kSum, 0)), 0);
}

TEST(CellDerive, SkipWithoutAlternativeStays) {
  ArchWeights w;
  w.nodes = 1;
  w.ops = {{"none", "skip"}};
  w.weights = {{0.3, 0.7}};
  std::vector<CellEdgeSlot> removed;
  const Genotype g = derive_genotype(w, CellJoin::kConcat, 0, &removed);
  EXPECT_EQ(g, make({{{0, "skip"}}}));
  EXPECT_TRUE(removed.empty());
}

TEST(CellDerive, NodeWithOnlyNoneThrows) {
  ArchWeights w;
  w.nodes = 1;
  w.ops = {{"none"}};
  w.weights = {{1.0}};
  EXPECT_THROW(derive_genotype(w, CellJoin::kConcat, 2), std::invalid_argument);
}

TEST(CellArchWeights, SoftmaxJsonRoundTripAndTable) {
  const std::vector<std::vector<std::string>> ops{{"none", "skip"}};
  const auto w = arch_weights_from_alphas(1, ops, torch::tensor({{0.0, std::log(3.0)}}));
  ASSERT_EQ(w.weights.size(), 1u);
  EXPECT_NEAR(w.weights[0][0], 0.25, 1e-6);
  EXPECT_NEAR(w.weights[0][1], 0.75, 1e-6);
  EXPECT_EQ(arch_weights_from_json(to_json(w), "x"), w);
  EXPECT_THROW(arch_weights_from_json({{"nodes", 2}, {"edges", nlohmann::json::array()}}, "x"),
               InputError);
  const std::string table = format_arch_weights(hand_weights());
  EXPECT_NE(table.find("none"), std::string::npos);
  EXPECT_NE(table.find("max_pool_3x3"), std::string::npos);
  EXPECT_NE(table.find("0.500*"), std::string::npos);
  EXPECT_EQ(table.find("dwconv_3x3"), std::string::npos);  // on no edge
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 7);
}

TEST(EdgeMargins, MeasureHowFarEachEdgeIsDecided) {
  const auto margins = edge_margins(hand_weights());
  ASSERT_EQ(margins.size(), 6u);
  EXPECT_EQ(margins[0].top_op, "skip");
  EXPECT_DOUBLE_EQ(margins[0].top_weight, 0.5);
  EXPECT_NEAR(margins[0].over_uniform, 0.25, 1e-12);
  EXPECT_NEAR(margins[0].over_runner_up, 0.20, 1e-12);
  const double h = -(2 * 0.1 * std::log(0.1) + 0.5 * std::log(0.5) + 0.3 * std::log(0.3));
  EXPECT_NEAR(margins[0].normalized_entropy, h / std::log(4.0), 1e-12);
  EXPECT_EQ(margins[3].top_op, "none");

  ArchWeights uniform;
  uniform.nodes = 1;
  uniform.ops = {{"skip", "se", "conv_1x1", "none"}};
  uniform.weights = {{0.25, 0.25, 0.25, 0.25}};
  const EdgeMargin u = edge_margins(uniform).front();
  EXPECT_NEAR(u.over_uniform, 0.0, 1e-12);
  EXPECT_NEAR(u.over_runner_up, 0.0, 1e-12);
  EXPECT_NEAR(u.normalized_entropy, 1.0, 1e-12);
  EXPECT_NE(format_edge_margins(uniform).find("0->1"), std::string::npos);

  ArchWeights single;
  single.nodes = 1;
  single.ops = {{"se"}};
  single.weights = {{1.0}};
  const EdgeMargin s = edge_margins(single).front();
  EXPECT_EQ(s.over_uniform, 0.0);
  EXPECT_EQ(s.over_runner_up, 0.0);
  EXPECT_EQ(s.normalized_entropy, 0.0);
}

/// Two nodes, ops [none, skip, conv_1x1, se]: the derived edge 0->1 skip leads by 0.30,
/// 0->2 skip by 0.01 (none, the largest, is never derived), 1->2 conv_1x1 by 0.10.
ArchWeights margin_weights() {
  ArchWeights w;
  w.nodes = 2;
  w.ops.assign(3, {"none", "skip", "conv_1x1", "se"});
  w.weights = {{0.00, 0.60, 0.30, 0.10},   // 0->1
               {0.40, 0.21, 0.20, 0.19},   // 0->2
               {0.00, 0.10, 0.50, 0.40}};  // 1->2
  return w;
}

TEST(DerivationEvidence, LargeMarginsAreDecidedTinyOnesNot) {
  const ArchWeights w = margin_weights();
  const Genotype g = derive_genotype(w, CellJoin::kConcat, 2);
  ASSERT_EQ(g, make({{{0, "skip"}}, {{0, "skip"}, {1, "conv_1x1"}}}));
  const DerivationEvidence ev = assess_derivation(w, g, 0.05);
  ASSERT_EQ(ev.edges.size(), 3u);
  EXPECT_EQ(ev.edges[1].node, 2);
  EXPECT_EQ(ev.edges[1].input, 0);
  EXPECT_EQ(ev.edges[1].op, "skip");
  EXPECT_EQ(ev.edges[1].runner_up, "conv_1x1");
  EXPECT_NEAR(ev.edges[0].margin, 0.30, 1e-12);
  EXPECT_NEAR(ev.edges[1].margin, 0.01, 1e-12);
  EXPECT_NEAR(ev.edges[2].margin, 0.10, 1e-12);
  EXPECT_TRUE(ev.edges[0].decided);
  EXPECT_FALSE(ev.edges[1].decided);
  EXPECT_TRUE(ev.edges[2].decided);
  EXPECT_FALSE(ev.decided());
  EXPECT_EQ(ev.undecided_count(), 1);
  const std::string line = describe_derivation(ev);
  EXPECT_EQ(line.rfind("UNDECIDED: 1 of 3 derived edges are within the seed-to-seed spread "
                       "(margin < 0.050: 0->2 skip +0.010)",
                       0),
            0u)
      << line;
  EXPECT_NE(line.find("this genotype is not a finding"), std::string::npos);

  const DerivationEvidence loose = assess_derivation(w, g, 0.005);
  EXPECT_TRUE(loose.decided());
  EXPECT_EQ(describe_derivation(loose),
            "decided: every derived edge clears the margin (>= 0.005 over the runner-up op)");
  EXPECT_GT(kDecidedMargin, 0.0);
  EXPECT_EQ(assess_derivation(w, g).decided_margin, kDecidedMargin);
}

TEST(DerivationEvidence, ADerivedOpBehindItsEdgeLeaderHasANegativeMargin) {
  const ArchWeights w = margin_weights();
  const DerivationEvidence ev =
      assess_derivation(w, make({{{0, "conv_1x1"}}, {{0, "skip"}, {1, "conv_1x1"}}}), 0.0);
  EXPECT_NEAR(ev.edges[0].margin, -0.30, 1e-12);
  EXPECT_EQ(ev.edges[0].runner_up, "skip");
  EXPECT_FALSE(ev.edges[0].decided);
  EXPECT_THROW(assess_derivation(w, make({{{0, "dwconv_3x3"}}}), 0.05), std::invalid_argument);
  EXPECT_THROW(assess_derivation(w, make({{{1, "skip"}}}), 0.05), std::invalid_argument);
  EXPECT_THROW(assess_derivation(w, make({{{0, "skip"}}, {{0, "skip"}}, {{0, "skip"}}}), 0.05),
               std::invalid_argument);
}

TEST(DerivationEvidence, JsonRoundTrip) {
  const ArchWeights w = margin_weights();
  const DerivationEvidence ev =
      assess_derivation(w, derive_genotype(w, CellJoin::kConcat, 2), 0.05);
  const nlohmann::json j = to_json(ev);
  EXPECT_FALSE(j.at("decided").get<bool>());
  const DerivationEvidence back = derivation_evidence_from_json(j, "db");
  EXPECT_EQ(back.decided_margin, 0.05);
  ASSERT_EQ(back.edges.size(), ev.edges.size());
  for (size_t i = 0; i < ev.edges.size(); ++i) {
    EXPECT_EQ(back.edges[i].node, ev.edges[i].node);
    EXPECT_EQ(back.edges[i].input, ev.edges[i].input);
    EXPECT_EQ(back.edges[i].op, ev.edges[i].op);
    EXPECT_EQ(back.edges[i].runner_up, ev.edges[i].runner_up);
    EXPECT_EQ(back.edges[i].margin, ev.edges[i].margin);
    EXPECT_EQ(back.edges[i].decided, ev.edges[i].decided);
  }
  nlohmann::json bad = j;
  bad["edges"][0]["extra"] = 1;
  EXPECT_THROW(derivation_evidence_from_json(bad, "db"), InputError);
}

}  // namespace
}  // namespace frostnas
