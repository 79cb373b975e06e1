#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "space/net_spec.h"
#include "space/resolved_net.h"

namespace frostnas {

/// FP32 inference convolution with BN folded into weight and bias, ReLU in place.
/// Channels-last float [N, in, H, W] -> channels-last [N, out, H', W'].
class FoldedConv {
 public:
  /// weight: [out, in / groups, k, k]; bias: [out].
  FoldedConv(const ConvLayer& layer, const at::Tensor& weight, const at::Tensor& bias);
  at::Tensor forward(const at::Tensor& x) const;
  const ConvLayer& layer() const { return layer_; }
  const at::Tensor& weight() const { return weight_; }
  const at::Tensor& bias() const { return bias_; }

 private:
  ConvLayer layer_;
  at::Tensor weight_, bias_;
};

/// FP32 folded bottleneck, the same computation as Int8Block in float (cell blocks
/// included: their "cell.*" convs run the genotype, parameter-free ops in float).
/// Channels-last [N, C_in, H, W] -> [N, C_out, H / s, W / s].
class FoldedBlock {
 public:
  /// `convs` in the order of `block.convs`.
  FoldedBlock(const ResolvedBlock& block, std::vector<FoldedConv> convs);
  at::Tensor forward(const at::Tensor& x) const;
  const ResolvedBlock& resolved() const { return resolved_; }
  const std::vector<FoldedConv>& convs() const { return convs_; }

 private:
  at::Tensor cell_forward(const at::Tensor& x, size_t& i) const;
  ResolvedBlock resolved_;
  std::vector<FoldedConv> convs_;
};

/// FP32 folded network (the FP32 side of the latency table).
/// Float [N, in_channels, H, W] -> logits [N, num_classes].
class FoldedNet {
 public:
  FoldedNet(NetSpec spec, FoldedConv stem, std::vector<FoldedBlock> blocks, FoldedConv head,
            FoldedConv classifier);
  at::Tensor forward(const at::Tensor& x) const;
  const NetSpec& spec() const { return spec_; }
  const FoldedConv& stem() const { return stem_; }
  const std::vector<FoldedBlock>& blocks() const { return blocks_; }
  const FoldedConv& head() const { return head_; }
  const FoldedConv& classifier() const { return classifier_; }

 private:
  NetSpec spec_;
  FoldedConv stem_;
  std::vector<FoldedBlock> blocks_;
  FoldedConv head_;
  FoldedConv classifier_;
};

}  // namespace frostnas
