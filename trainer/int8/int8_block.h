#pragma once

#include <optional>

#include <ATen/ATen.h>

#include "space/resolved_net.h"
#include "trainer/int8/int8_conv.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// One INT8 bottleneck (Frost, MBConv or depthwise, as its ResolvedBlock says):
///   [s = squeeze(x); x' = quantized::cat(s, x) into `cat` qparams]   (kFrost)
///   expand (kFrost, kMBConv) -> depthwise -> project
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

  at::Tensor forward(const at::Tensor& qx) const;

  const ResolvedBlock& resolved() const { return resolved_; }
  QuantEngine engine() const { return engine_; }
  const std::optional<Int8ConvBnAct>& squeeze() const { return squeeze_; }
  const std::optional<Int8ConvBnAct>& expand() const { return expand_; }
  const Int8ConvBnAct& depthwise() const { return depthwise_; }
  const Int8ConvBnAct& project() const { return project_; }
  const std::optional<QParams>& cat_qparams() const { return cat_; }
  const std::optional<QParams>& add_qparams() const { return add_; }

 private:
  ResolvedBlock resolved_;
  std::optional<Int8ConvBnAct> squeeze_, expand_;
  Int8ConvBnAct depthwise_, project_;
  std::optional<QParams> cat_, add_;
  QuantEngine engine_;
};

}  // namespace frostnas
