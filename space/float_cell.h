#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "space/conv_bn_act.h"
#include "space/genotype.h"
#include "space/resolved_net.h"

namespace frostnas {

/// The FP32 searched cell of a kCell block (space/genotype.h), with the parameter names
/// of the QAT cell (trainer/quant/qat_cell.h) so that weights copy both ways:
/// `pre` (entry projection ConvBNReLU(C_in -> c, 1x1), only when c != C_in) and one
/// child `n<i>_e<k>` per edge (edge k of node i): conv ops hold `layer` (ConvBnAct),
/// "se" holds `reduce` and `expand` (1x1 Conv2d with bias); the other ops have no
/// parameters. Node 0 = pre(x) (or x); node i = sum of its edges; output = sum of the
/// intermediate nodes. Input [N, C_in, H, W] -> [N, c, H, W].
/// One edge of a FloatCell: `op` applied to node `input`; `layer` for conv ops,
/// `reduce` / `expand` for "se", all null for the parameter-free ops.
struct FloatCellEdge {
  int64_t input = 0;
  std::string op;
  ConvBnAct layer{nullptr};
  torch::nn::Conv2d reduce{nullptr}, expand{nullptr};
};

class FloatCellImpl : public torch::nn::Module {
 public:
  /// `block` must be of kind kCell.
  explicit FloatCellImpl(const ResolvedBlock& block);
  torch::Tensor forward(const torch::Tensor& x);
  const Genotype& genotype() const { return genotype_; }
  /// edges()[i][k] = edge k of node i + 1, in genotype order.
  const std::vector<std::vector<FloatCellEdge>>& edges() const { return nodes_; }

  ConvBnAct pre{nullptr};

 private:
  torch::Tensor run(FloatCellEdge& e, const torch::Tensor& x);

  Genotype genotype_;
  std::vector<std::vector<FloatCellEdge>> nodes_;
};
TORCH_MODULE(FloatCell);

/// Applies the parameter-free cell ops in float ("skip", "max_pool_3x3",
/// "avg_pool_3x3", "none"); TORCH_CHECK on any other name. Shape-preserving.
torch::Tensor float_pool_op(const std::string& op, const torch::Tensor& x);

}  // namespace frostnas
