#pragma once

#include <optional>

#include <ATen/ATen.h>

#include "space/resolved_net.h"
#include "trainer/int8/int8_cell.h"
#include "trainer/int8/int8_conv.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// One INT8 bottleneck (Frost, MBConv or depthwise, as its ResolvedBlock says):
///   [s = squeeze(x); x' = quantized::cat(s, x) into `cat` qparams]   (kFrost)
///   expand (kFrost, kMBConv) -> depthwise -> project
///   [c = cell(x); x' = quantized::cat(c, x) or quantized::add(c, x)
///    into the `cat` qparams]                                          (kCell)
///   [quantized::add(out, x) into `add` qparams]                      (residual)
/// Standalone: the latency table builds and runs these directly.
/// quint8 channels-last [N, C_in, H, W] -> quint8 channels-last [N, C_out, H / s, W / s].
class Int8Block {
 public:
  /// `squeeze` / `cat` required exactly for kFrost, `expand` unless kDepthwise, `add`
  /// exactly when the block is residual.
  Int8Block(const ResolvedBlock& block, std::optional<Int8ConvBnAct> squeeze,
            std::optional<Int8ConvBnAct> expand, Int8ConvBnAct depthwise, Int8ConvBnAct project,
            std::optional<QParams> cat, std::optional<QParams> add, QuantEngine engine);
  /// A kCell block: `join` is the qparams of the concat (join concat) or of the add
  /// (join sum) of the cell output with the block input.
  Int8Block(const ResolvedBlock& block, Int8Cell cell, std::optional<Int8ConvBnAct> expand,
            Int8ConvBnAct depthwise, Int8ConvBnAct project, QParams join,
            std::optional<QParams> add, QuantEngine engine);

  at::Tensor forward(const at::Tensor& qx) const;

  const ResolvedBlock& resolved() const { return resolved_; }
  QuantEngine engine() const { return engine_; }
  const std::optional<Int8ConvBnAct>& squeeze() const { return squeeze_; }
  const std::optional<Int8Cell>& cell() const { return cell_; }
  const std::optional<Int8ConvBnAct>& expand() const { return expand_; }
  const Int8ConvBnAct& depthwise() const { return depthwise_; }
  const Int8ConvBnAct& project() const { return project_; }
  /// kFrost: the concat; kCell: the join (concat or add) of cell output and input.
  const std::optional<QParams>& cat_qparams() const { return cat_; }
  const std::optional<QParams>& add_qparams() const { return add_; }

 private:
  ResolvedBlock resolved_;
  std::optional<Int8ConvBnAct> squeeze_, expand_;
  std::optional<Int8Cell> cell_;
  Int8ConvBnAct depthwise_, project_;
  std::optional<QParams> cat_, add_;
  QuantEngine engine_;
};

}  // namespace frostnas
