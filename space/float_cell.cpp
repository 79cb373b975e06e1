#include "space/float_cell.h"

namespace frostnas {

namespace {

torch::nn::Conv2d make_biased(const ConvLayer& c) {
  torch::nn::Conv2d conv(
      torch::nn::Conv2dOptions(c.in_channels, c.out_channels, c.kernel).bias(true));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  torch::nn::init::zeros_(conv->bias);
  return conv;
}
}  // namespace

torch::Tensor float_pool_op(const std::string& op, const torch::Tensor& x) {
  if (op == "skip") return x;
  if (op == "none") return torch::zeros_like(x);
  if (op == "max_pool_3x3") return torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
  if (op == "avg_pool_3x3") {
    return torch::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false,
                             /*count_include_pad=*/false);
  }
  TORCH_CHECK(false, "float_pool_op: '", op, "' is not a parameter-free cell op");
}

FloatCellImpl::FloatCellImpl(const ResolvedBlock& block) {
  TORCH_CHECK(block.kind == BlockKind::kCell && block.spec.cell,
              "FloatCell: the block is not a cell block");
  genotype_ = *block.spec.cell;
  const int64_t c = block.cell_channels;
  for (const auto& conv : block.convs) {
    if (conv.role == "cell.pre") pre = register_module("pre", make_conv_bn_act(conv));
  }
  for (size_t i = 0; i < genotype_.nodes.size(); ++i) {
    std::vector<FloatCellEdge> edges;
    for (size_t k = 0; k < genotype_.nodes[i].size(); ++k) {
      const CellEdge& ce = genotype_.nodes[i][k];
      FloatCellEdge e;
      e.input = ce.input;
      e.op = ce.op;
      auto holder = std::make_shared<torch::nn::Module>();
      const auto convs = cell_op_convs(ce.op, c, block.in_size);
      if (ce.op == "se") {
        e.reduce = holder->register_module("reduce", make_biased(convs[0]));
        e.expand = holder->register_module("expand", make_biased(convs[1]));
      } else if (!convs.empty()) {
        e.layer = holder->register_module("layer", make_conv_bn_act(convs[0]));
      }
      register_module("n" + std::to_string(i + 1) + "_e" + std::to_string(k), holder);
      edges.push_back(std::move(e));
    }
    nodes_.push_back(std::move(edges));
  }
}

torch::Tensor FloatCellImpl::run(FloatCellEdge& e, const torch::Tensor& x) {
  if (e.layer) return e.layer->forward(x);
  if (e.reduce) {
    auto s = torch::relu(e.reduce->forward(torch::adaptive_avg_pool2d(x, {1, 1})));
    return x * torch::sigmoid(e.expand->forward(s));
  }
  return float_pool_op(e.op, x);
}

torch::Tensor FloatCellImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> states{pre ? pre->forward(x) : x};
  torch::Tensor out;
  for (auto& node : nodes_) {
    torch::Tensor s;
    for (auto& e : node) {
      auto y = run(e, states[e.input]);
      s = s.defined() ? s + y : y;
    }
    states.push_back(s);
    out = out.defined() ? out + s : s;
  }
  return out;
}

}  // namespace frostnas
