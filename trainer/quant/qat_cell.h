#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "space/genotype.h"
#include "space/resolved_net.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/cell_ops.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// The searched cell of a kCell block for quantization-aware training, built from the
/// block's genotype with make_cell_op, parameter names as space's FloatCell:
/// `pre` (entry projection ConvBNReLU(C_in -> c, 1x1), only when c != C_in), `n<i>_e<k>`
/// (edge k of node i). Sums are chained pairwise as the INT8 cell adds them, each add
/// followed by a fake quantizer: `n<i>_add<k>_fq` (k = 1 .. edges - 1) inside node i,
/// `out_add<k>_fq` (k = 1 .. nodes - 1) for the cell output. A node with one edge and a
/// cell with one node add nothing, so the Frost genotype is exactly the squeeze branch.
/// The input is expected already fake-quantized. Input [N, C_in, H, W] -> [N, c, H, W].
class QatCellImpl : public torch::nn::Module {
 public:
  /// `block` must be of kind kCell.
  QatCellImpl(const ResolvedBlock& block, QuantEngine engine = QuantEngine::kOneDNN);
  torch::Tensor forward(const torch::Tensor& x);

  const Genotype& genotype() const { return genotype_; }
  /// ops()[i][k] = edge k of node i + 1, in genotype order.
  const std::vector<std::vector<CellOpPtr>>& ops() const { return ops_; }
  /// node_add_fqs()[i][k - 1] = n<i+1>_add<k>_fq.
  const std::vector<std::vector<ActFakeQuant>>& node_add_fqs() const { return node_add_fqs_; }
  /// out_add_fqs()[k - 1] = out_add<k>_fq.
  const std::vector<ActFakeQuant>& out_add_fqs() const { return out_add_fqs_; }

  QatConvBnAct pre{nullptr};

 private:
  Genotype genotype_;
  std::vector<std::vector<CellOpPtr>> ops_;
  std::vector<std::vector<ActFakeQuant>> node_add_fqs_;
  std::vector<ActFakeQuant> out_add_fqs_;
};
TORCH_MODULE(QatCell);

}  // namespace frostnas
