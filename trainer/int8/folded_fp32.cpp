#include "trainer/int8/folded_fp32.h"

#include "space/float_cell.h"

namespace frostnas {

FoldedConv::FoldedConv(const ConvLayer& layer, const at::Tensor& weight, const at::Tensor& bias)
    : layer_(layer),
      weight_(weight.detach().to(at::kFloat).contiguous(at::MemoryFormat::ChannelsLast)),
      bias_(bias.detach().to(at::kFloat).contiguous()) {
  const std::vector<int64_t> shape{layer.out_channels, layer.in_channels / layer.groups,
                                   layer.kernel, layer.kernel};
  TORCH_CHECK(weight_.sizes() == at::IntArrayRef(shape), "FoldedConv '", layer.role, "': weight ",
              weight_.sizes(), ", expected ", at::IntArrayRef(shape));
  TORCH_CHECK(bias_.dim() == 1 && bias_.size(0) == layer.out_channels, "FoldedConv '", layer.role,
              "': bias must be [", layer.out_channels, "]");
}

at::Tensor FoldedConv::forward(const at::Tensor& x) const {
  auto y = at::conv2d(x, weight_, bias_, layer_.stride, layer_.padding(), 1, layer_.groups);
  return layer_.relu ? y.relu_() : y;
}

FoldedBlock::FoldedBlock(const ResolvedBlock& block, std::vector<FoldedConv> convs)
    : resolved_(block), convs_(std::move(convs)) {
  TORCH_CHECK(convs_.size() == block.convs.size(), "FoldedBlock: ", convs_.size(),
              " convs for a block with ", block.convs.size());
}

at::Tensor FoldedBlock::cell_forward(const at::Tensor& x, size_t& i) const {
  const Genotype& g = *resolved_.spec.cell;
  std::vector<at::Tensor> states{
      resolved_.cell_channels != resolved_.in_channels ? convs_[i++].forward(x) : x};
  at::Tensor out;
  for (const auto& node : g.nodes) {
    at::Tensor s;
    for (const auto& e : node) {
      const at::Tensor& in = states[e.input];
      at::Tensor y;
      if (e.op == "conv_1x1" || e.op == "dwconv_3x3" || e.op == "dwconv_5x5") {
        y = convs_[i++].forward(in);
      } else if (e.op == "se") {
        auto r = convs_[i++].forward(at::adaptive_avg_pool2d(in, {1, 1}));
        y = in * at::sigmoid(convs_[i++].forward(r));
      } else {
        y = float_pool_op(e.op, in);
      }
      s = s.defined() ? s + y : y;
    }
    states.push_back(s);
    out = out.defined() ? out + s : s;
  }
  return out;
}

at::Tensor FoldedBlock::forward(const at::Tensor& x) const {
  size_t i = 0;
  at::Tensor out = x;
  if (resolved_.kind == BlockKind::kFrost) out = at::cat({convs_[i++].forward(x), x}, 1);
  if (resolved_.kind == BlockKind::kCell) {
    auto c = cell_forward(x, i);
    out = resolved_.spec.cell->join == CellJoin::kConcat ? at::cat({c, x}, 1) : c + x;
  }
  if (resolved_.kind != BlockKind::kDepthwise) out = convs_[i++].forward(out);
  out = convs_[i++].forward(out);
  out = convs_[i++].forward(out);
  return resolved_.residual ? out.add_(x) : out;
}

FoldedNet::FoldedNet(NetSpec spec, FoldedConv stem, std::vector<FoldedBlock> blocks,
                     FoldedConv head, FoldedConv classifier)
    : spec_(std::move(spec)),
      stem_(std::move(stem)),
      blocks_(std::move(blocks)),
      head_(std::move(head)),
      classifier_(std::move(classifier)) {}

at::Tensor FoldedNet::forward(const at::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == spec_.in_channels, "FoldedNet expects [N, ",
              spec_.in_channels, ", H, W], got ", x.sizes());
  at::Tensor y = stem_.forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  for (const auto& b : blocks_) y = b.forward(y);
  y = at::adaptive_avg_pool2d(head_.forward(y), {1, 1});
  return classifier_.forward(y).flatten(1);
}

}  // namespace frostnas
