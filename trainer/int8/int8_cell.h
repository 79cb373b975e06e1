#pragma once

#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "space/genotype.h"
#include "space/resolved_net.h"
#include "trainer/int8/int8_conv.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Output qparams of PyTorch's quantized sigmoid (quint8): scale 1/256, zero point 0.
constexpr double kSigmoidScale = 1.0 / 256.0;

/// One INT8 cell op (names and math: space/genotype.h cell_op_names(); "none" is not
/// supported). `convs` as cell_op_convs(op, c, size) lists them (conv ops: one; "se":
/// reduce, expand); `out`: the requantized output of "avg_pool_3x3" and "se" (none for
/// the others, which keep the input's qparams or are a conv's own output).
/// - skip: qx; max_pool_3x3: at::max_pool2d on quint8;
/// - avg_pool_3x3: at::avg_pool2d on quint8 (padding not counted), requantized to `out`
///   (under QNNPACK, whose kernel always counts the padding, averaged in float);
/// - conv ops: Int8ConvBnAct;
/// - se: quantized adaptive avg pool -> reduce (conv_relu) -> expand -> quantized
///   sigmoid (1/256, 0) -> quantized::mul(qx, gate) into `out`.
/// quint8 channels-last [N, c, H, W] -> quint8 channels-last [N, c, H, W]. Runs under the
/// current quantized engine (Int8Block sets it).
struct Int8CellOp {
  std::string op;
  std::vector<Int8ConvBnAct> convs;
  std::optional<QParams> out;

  /// Checks that `convs` and `out` fit `op` (TORCH_CHECK).
  void validate() const;
  at::Tensor forward(const at::Tensor& qx) const;
};

/// The INT8 searched cell of a kCell block, the same computation as QatCell:
/// node 0 = pre(qx) (entry projection, present exactly when c != C_in) or qx; node i =
/// quantized::add chain over its edges into `node_adds[i - 1]` (one qparams per add);
/// output = add chain over the nodes into `out_adds`.
/// quint8 channels-last [N, C_in, H, W] -> quint8 channels-last [N, c, H, W].
class Int8Cell {
 public:
  /// ops[i][k] = edge k of node i + 1 (genotype order); node_adds[i] has one entry
  /// fewer than node i + 1 has edges; out_adds one fewer than there are nodes.
  Int8Cell(const ResolvedBlock& block, std::optional<Int8ConvBnAct> pre,
           std::vector<std::vector<Int8CellOp>> ops, std::vector<std::vector<QParams>> node_adds,
           std::vector<QParams> out_adds);
  at::Tensor forward(const at::Tensor& qx) const;

  const Genotype& genotype() const { return genotype_; }
  const std::optional<Int8ConvBnAct>& pre() const { return pre_; }
  const std::vector<std::vector<Int8CellOp>>& ops() const { return ops_; }
  const std::vector<std::vector<QParams>>& node_adds() const { return node_adds_; }
  const std::vector<QParams>& out_adds() const { return out_adds_; }
  /// Every conv of the cell in the order of the block's "cell.*" ConvLayers
  /// (pre, then each edge's convs).
  std::vector<const Int8ConvBnAct*> convs() const;

 private:
  Genotype genotype_;
  std::optional<Int8ConvBnAct> pre_;
  std::vector<std::vector<Int8CellOp>> ops_;
  std::vector<std::vector<QParams>> node_adds_;
  std::vector<QParams> out_adds_;
};

}  // namespace frostnas
