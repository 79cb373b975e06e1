#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "search/cell/mixed_op.h"
#include "space/genotype.h"
#include "trainer/quant/act_fake_quant.h"
#include "trainer/quant/qat_conv_bn_act.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// A proxy-scale FrostNet skeleton whose bottlenecks carry the searchable cell.
struct SupernetOptions {
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, input_size) = 28;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// 3x3 stride-2 ConvBNReLU stem.
  TORCH_ARG(int64_t, stem_channels) = 16;
  /// Output channels of the sections; the first block of every section after the
  /// first has stride 2. Block b of `depth` belongs to section b * sections / depth.
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{16, 32};
  /// Number of searchable bottleneck blocks (at least one per section).
  TORCH_ARG(int64_t, depth) = 3;
  /// Expansion factor, depthwise kernel and reduction factor of every block.
  TORCH_ARG(int64_t, expansion) = 3;
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, rf) = 2;
  /// 1x1 ConvBNReLU before the global pool.
  TORCH_ARG(int64_t, head_channels) = 128;
  /// Intermediate nodes of the cell.
  TORCH_ARG(int64_t, nodes) = 3;
  TORCH_ARG(CellJoin, join) = CellJoin::kConcat;
  /// Candidate ops per edge (cell_edge_slots order), all of equal length; empty: every
  /// op of cell_op_names() on every edge.
  TORCH_ARG(std::vector<std::vector<std::string>>, edge_ops) = {};
  TORCH_ARG(QuantEngine, engine) = QuantEngine::kOneDNN;
  /// How fake quantization rounds weights; the cell search sets it on every mode it applies.
  TORCH_ARG(WeightQuant, weight_quant) = WeightQuant::kPerChannel;
};

/// Shapes of one searchable bottleneck.
struct SearchBlockShape {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t stride = 1;
  int64_t in_size = 0;   ///< input H = W
  int64_t out_size = 0;  ///< output H = W
  int64_t cell_channels = 0;
  bool residual = false;
};

/// The block shapes of a supernet (checks the options; TORCH_CHECK on bad values).
std::vector<SearchBlockShape> supernet_block_shapes(const SupernetOptions& options);

/// A Frost bottleneck with the searchable cell in place of the squeeze branch:
/// node 0 = entry(x) (ConvBNReLU C_in -> c, 1x1, only when c != C_in), node i = node_fq_i(
/// sum_{j<i} MixedOp_{j->i}(node j)), cell = cell_fq(sum of intermediate nodes) (just node 1
/// when there is one), x' = join_fq(cat(cell, x)) (concat) or join_fq(x + cell) (sum), then
/// expand (EF != 1), depthwise k x k stride s, project (no ReLU) and residual (add_fq).
/// x [N, C_in, H, W], weights [edges, K] -> [N, C_out, H / s, W / s].
class SearchBlockImpl : public torch::nn::Module {
 public:
  SearchBlockImpl(const SearchBlockShape& shape, const SupernetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights);
  const SearchBlockShape& shape() const { return shape_; }
  const std::vector<MixedOp>& edge_modules() const { return edge_modules_; }

  QatConvBnAct entry{nullptr};
  torch::nn::ModuleList edges{nullptr};
  torch::nn::ModuleList node_fq{nullptr};
  ActFakeQuant cell_fq{nullptr};  ///< nodes > 1 only
  ActFakeQuant join_fq{nullptr};
  QatConvBnAct expand{nullptr};  ///< expansion != 1 only
  QatConvBnAct depthwise{nullptr};
  QatConvBnAct project{nullptr};
  ActFakeQuant add_fq{nullptr};  ///< residual only

 private:
  SearchBlockShape shape_;
  int64_t nodes_;
  CellJoin join_;
  std::vector<MixedOp> edge_modules_;
  std::vector<ActFakeQuant> node_fq_modules_;
};
TORCH_MODULE(SearchBlock);

/// The supernet: input_fq -> stem -> depth SearchBlocks sharing ONE set of architecture
/// weights (as DARTS' normal cells do) -> head -> global average pool (kept on the head's
/// grid) -> classifier (1x1 conv with bias, fake-quantized weight) -> logits_fq.
/// The architecture parameters are not part of the module: forward takes their softmax.
/// Starts in float mode; apply_qat_mode switches every layer (StatAssist).
/// x [N, in_channels, input_size, input_size], weights [edges, K] -> logits [N, num_classes].
class SupernetImpl : public torch::nn::Module, public QatModeTarget {
 public:
  explicit SupernetImpl(const SupernetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights);
  void set_qat_mode(const QatMode& mode) override { mode_ = mode; }
  const QatMode& mode() const { return mode_; }
  /// Dropout rate of every "skip" branch.
  void set_skip_dropout(double p);
  const SupernetOptions& options() const { return options_; }
  /// Op lists per edge (options().edge_ops, or the full list when that was empty).
  const std::vector<std::vector<std::string>>& edge_ops() const { return edge_ops_; }
  int64_t ops_per_edge() const { return static_cast<int64_t>(edge_ops_.at(0).size()); }
  const std::vector<SearchBlock>& block_modules() const { return block_modules_; }

  ActFakeQuant input_fq{nullptr};
  QatConvBnAct stem{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  QatConvBnAct head{nullptr};
  torch::nn::Conv2d classifier{nullptr};
  ActFakeQuant logits_fq{nullptr};

 private:
  SupernetOptions options_;
  std::vector<std::vector<std::string>> edge_ops_;
  std::vector<SearchBlock> block_modules_;
  QatMode mode_;
};
TORCH_MODULE(Supernet);

}  // namespace frostnas
