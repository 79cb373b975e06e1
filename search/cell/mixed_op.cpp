#include "search/cell/mixed_op.h"

#include <set>

namespace frostnas {

MixedOpImpl::MixedOpImpl(const MixedOpOptions& options) : names_(options.ops()) {
  TORCH_CHECK(!names_.empty(), "MixedOp: no candidate ops");
  TORCH_CHECK(std::set<std::string>(names_.begin(), names_.end()).size() == names_.size(),
              "MixedOp: repeated candidate op");
  for (const auto& name : names_) {
    pool_bn_.push_back(nullptr);
    if (name == "none") {
      ops_.push_back(nullptr);
      continue;
    }
    CellOpPtr op = make_cell_op(
        name, CellOpOptions(options.channels(), options.size()).engine(options.engine()));
    ops_.push_back(register_module(name, op));
    if (name == "max_pool_3x3" || name == "avg_pool_3x3") {
      pool_bn_.back() = register_module(
          name + "_bn",
          torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(options.channels()).affine(false)));
    }
  }
}

void MixedOpImpl::set_skip_dropout(double p) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, "MixedOp: skip dropout ", p, " outside [0, 1)");
  skip_dropout_ = p;
}

torch::Tensor MixedOpImpl::forward(const torch::Tensor& x, const torch::Tensor& weights) {
  TORCH_CHECK(weights.dim() == 1 && weights.size(0) == static_cast<int64_t>(ops_.size()),
              "MixedOp: weights [", ops_.size(), "] expected, got ", weights.sizes());
  torch::Tensor out;
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (!ops_[k]) continue;
    torch::Tensor y = ops_[k]->forward(x);
    if (pool_bn_[k]) y = pool_bn_[k]->forward(y);
    if (names_[k] == "skip" && skip_dropout_ > 0.0 && is_training())
      y = torch::dropout(y, skip_dropout_, /*train=*/true);
    torch::Tensor term = y * weights[static_cast<int64_t>(k)];
    out = out.defined() ? out + term : term;
  }
  // Only "none": the edge is zero (its weight still takes part in the softmax).
  return out.defined() ? out : torch::zeros_like(x);
}

}  // namespace frostnas
