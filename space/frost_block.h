#pragma once

#include <torch/torch.h>

#include <memory>

#include "space/conv_bn_act.h"
#include "space/float_cell.h"
#include "space/genotype.h"
#include "space/net_spec.h"
#include "space/resolved_net.h"

namespace frostnas {

/// Options of one Frost bottleneck (`FrostBlockOptions(in, out).kernel(5).expansion(3)`).
struct FrostBlockOptions {
  FrostBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, expansion) = 6;  ///< EF
  TORCH_ARG(int64_t, reduction) = 4;  ///< RF
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(BlockType, type) = BlockType::kFrost;
  /// The genotype of a kCell block (required exactly for kCell).
  TORCH_ARG(std::shared_ptr<const Genotype>, cell);
  /// Input side, only used to describe the block (`resolved()`), not by the math.
  TORCH_ARG(int64_t, input_size) = 32;
};

/// The reference Frost bottleneck (docs/frostnet.md, "Frost bottleneck"):
///   [squeeze = ConvBNReLU(C_in -> r, 1x1); x' = cat(squeeze(x), x)]   (kFrost only)
///   ConvBNReLU(n -> n*EF, 1x1)                                         (EF > 1)
///   ConvBNReLU(n*EF -> n*EF, k x k, stride, depthwise)
///   ConvBN(n*EF -> C_out, 1x1), plus x when stride 1 and C_in == C_out.
/// A kCell block replaces the squeeze branch by its cell (`cell`, a FloatCell):
/// x' = cat(cell(x), x) (join concat) or x + cell(x) (join sum).
/// Input [N, C_in, H, W] -> output [N, C_out, H / stride, W / stride].
class FrostBlockImpl : public torch::nn::Module {
 public:
  explicit FrostBlockImpl(const FrostBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  /// The analytic description this block was built from.
  const ResolvedBlock& resolved() const { return resolved_; }
  bool residual() const { return resolved_.residual; }

  FrostBlockOptions options;
  ConvBnAct squeeze{nullptr};  ///< null unless kind is kFrost
  FloatCell cell{nullptr};     ///< null unless kind is kCell
  ConvBnAct expand{nullptr};   ///< null when EF = 1
  ConvBnAct depthwise{nullptr};
  ConvBnAct project{nullptr};

 private:
  ResolvedBlock resolved_;
};
TORCH_MODULE(FrostBlock);

}  // namespace frostnas
