#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "space/net_spec.h"
#include "space/resolved_net.h"
#include "trainer/int8/int8_block.h"
#include "trainer/int8/int8_conv.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// A whole INT8 network run by LibTorch's quantized kernels:
/// quantize input -> stem -> blocks -> head -> quantized adaptive avg pool (keeps the
/// head's qparams) -> classifier (quantized 1x1 conv with bias) -> dequantize.
/// Needs no training code: built by convert_to_int8() or load_int8_model().
class Int8Net {
 public:
  Int8Net(NetSpec spec, QuantEngine engine, QParams input, Int8ConvBnAct stem,
          std::vector<Int8Block> blocks, Int8ConvBnAct head, Int8ConvBnAct classifier);

  /// Float [N, in_channels, H, W] -> float logits [N, num_classes].
  at::Tensor forward(const at::Tensor& x) const;
  /// Quantized input (channels-last quint8) -> quantized logits [N, num_classes, 1, 1].
  at::Tensor forward_quantized(const at::Tensor& qx) const;
  /// Float input -> quint8 channels-last with the input qparams.
  at::Tensor quantize_input(const at::Tensor& x) const;

  const NetSpec& spec() const { return spec_; }
  const ResolvedNet& resolved() const { return resolved_; }
  QuantEngine engine() const { return engine_; }
  /// How the weights are quantized (every conv of a converted or loaded net shares it).
  WeightQuant weight_quant() const { return classifier_.weight_quant(); }
  QParams input_qparams() const { return input_; }
  const Int8ConvBnAct& stem() const { return stem_; }
  const std::vector<Int8Block>& blocks() const { return blocks_; }
  const Int8ConvBnAct& head() const { return head_; }
  const Int8ConvBnAct& classifier() const { return classifier_; }

 private:
  NetSpec spec_;
  ResolvedNet resolved_;
  QuantEngine engine_;
  QParams input_;
  Int8ConvBnAct stem_;
  std::vector<Int8Block> blocks_;
  Int8ConvBnAct head_;
  Int8ConvBnAct classifier_;
};

}  // namespace frostnas
