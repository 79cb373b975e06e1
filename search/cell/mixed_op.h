#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/quant/cell_ops.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Shape and candidates of one supernet edge.
struct MixedOpOptions {
  MixedOpOptions(int64_t channels, int64_t size, std::vector<std::string> ops)
      : channels_(channels), size_(size), ops_(std::move(ops)) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, size);
  /// Candidate op names (from cell_op_names()), no repeats; the order of the weights.
  TORCH_ARG(std::vector<std::string>, ops);
  TORCH_ARG(QuantEngine, engine) = QuantEngine::kOneDNN;
};

/// A DARTS mixed operation over the QAT candidate ops of trainer/quant/cell_ops.h:
/// output = sum_k weights[k] * op_k(x). "none" contributes zero and is not built.
/// In training the "skip" branch goes through dropout with rate skip_dropout()
/// (P-DARTS: dropout after every skip connection). Pooling ops are followed by a batch norm
/// without affine parameters (registered as "<op>_bn"), as in DARTS's search, so that their
/// outputs enter the sum on the scale of the other ops' (which end in a batch norm) and
/// scale alone does not decide their weights. Ops are registered under their names.
/// x [N, c, H, W] (already fake-quantized), weights [K] -> [N, c, H, W] (not re-quantized).
class MixedOpImpl : public torch::nn::Module {
 public:
  explicit MixedOpImpl(const MixedOpOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights);

  void set_skip_dropout(double p);
  double skip_dropout() const { return skip_dropout_; }
  const std::vector<std::string>& op_names() const { return names_; }
  /// The op at position k (nullptr for "none").
  const CellOpPtr& op(size_t k) const { return ops_.at(k); }

 private:
  std::vector<std::string> names_;
  std::vector<CellOpPtr> ops_;
  std::vector<torch::nn::BatchNorm2d> pool_bn_;  ///< per op; null unless a pooling op
  double skip_dropout_ = 0.0;
};
TORCH_MODULE(MixedOp);

}  // namespace frostnas
