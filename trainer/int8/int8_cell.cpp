#include "trainer/int8/int8_cell.h"

#include "trainer/int8/int8_ops.h"

namespace frostnas {

void Int8CellOp::validate() const {
  const bool conv_op = op == "conv_1x1" || op == "dwconv_3x3" || op == "dwconv_5x5";
  const bool param_free = op == "skip" || op == "max_pool_3x3" || op == "avg_pool_3x3";
  TORCH_CHECK(conv_op || param_free || op == "se", "Int8CellOp: unsupported op '", op, "'");
  const size_t n = conv_op ? 1 : op == "se" ? 2 : 0;
  TORCH_CHECK(convs.size() == n, "Int8CellOp '", op, "': ", convs.size(), " convs, expected ", n);
  const bool needs_out = op == "avg_pool_3x3" || op == "se";
  TORCH_CHECK(out.has_value() == needs_out, "Int8CellOp '", op,
              "': output qparams are required exactly for avg_pool_3x3 and se");
}

at::Tensor Int8CellOp::forward(const at::Tensor& qx) const {
  if (op == "skip") return qx;
  // Dilation explicit: the quantized kernel reads both entries of it.
  if (op == "max_pool_3x3") return at::max_pool2d(qx, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  if (op == "avg_pool_3x3") {
    // QNNPACK's quantized average pool counts the padding whatever count_include_pad
    // says (72 steps off at the borders, measured): average in float there.
    if (at::globalContext().qEngine() == at::QEngine::QNNPACK) {
      return quantize_activation(at::avg_pool2d(qx.dequantize(), {3, 3}, {1, 1}, {1, 1},
                                                /*ceil_mode=*/false,
                                                /*count_include_pad=*/false),
                                 *out);
    }
    auto y = at::avg_pool2d(qx, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false,
                            /*count_include_pad=*/false);
    return quantize_activation(y.dequantize(), *out);
  }
  if (op == "se") {
    auto s = at::adaptive_avg_pool2d(qx, {1, 1});
    auto gate = at::sigmoid(convs[1].forward(convs[0].forward(s)));
    return qmul(qx, gate, *out);
  }
  return convs.at(0).forward(qx);
}

Int8Cell::Int8Cell(const ResolvedBlock& block, std::optional<Int8ConvBnAct> pre,
                   std::vector<std::vector<Int8CellOp>> ops,
                   std::vector<std::vector<QParams>> node_adds, std::vector<QParams> out_adds)
    : pre_(std::move(pre)),
      ops_(std::move(ops)),
      node_adds_(std::move(node_adds)),
      out_adds_(std::move(out_adds)) {
  TORCH_CHECK(block.kind == BlockKind::kCell && block.spec.cell,
              "Int8Cell: the block is not a cell block");
  genotype_ = *block.spec.cell;
  TORCH_CHECK(pre_.has_value() == (block.cell_channels != block.in_channels),
              "Int8Cell: the entry projection is required exactly when c != C_in");
  const auto& nodes = genotype_.nodes;
  TORCH_CHECK(ops_.size() == nodes.size() && node_adds_.size() == nodes.size() &&
                  out_adds_.size() + 1 == nodes.size(),
              "Int8Cell: ops / adds do not match the genotype's ", nodes.size(), " nodes");
  for (size_t i = 0; i < nodes.size(); ++i) {
    TORCH_CHECK(ops_[i].size() == nodes[i].size() && node_adds_[i].size() + 1 == nodes[i].size(),
                "Int8Cell: node ", i + 1, " needs ", nodes[i].size(), " ops and ",
                nodes[i].size() - 1, " adds");
    for (size_t k = 0; k < nodes[i].size(); ++k) {
      TORCH_CHECK(ops_[i][k].op == nodes[i][k].op, "Int8Cell: node ", i + 1, " edge ", k, " is '",
                  ops_[i][k].op, "', the genotype says '", nodes[i][k].op, "'");
      ops_[i][k].validate();
    }
  }
}

at::Tensor Int8Cell::forward(const at::Tensor& qx) const {
  std::vector<at::Tensor> states{pre_ ? pre_->forward(qx) : qx};
  at::Tensor out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    at::Tensor s;
    for (size_t k = 0; k < ops_[i].size(); ++k) {
      auto y = ops_[i][k].forward(states[genotype_.nodes[i][k].input]);
      s = k == 0 ? y : qadd(s, y, node_adds_[i][k - 1]);
    }
    states.push_back(s);
    out = i == 0 ? s : qadd(out, s, out_adds_[i - 1]);
  }
  return out;
}

std::vector<const Int8ConvBnAct*> Int8Cell::convs() const {
  std::vector<const Int8ConvBnAct*> out;
  if (pre_) out.push_back(&*pre_);
  for (const auto& node : ops_)
    for (const auto& op : node)
      for (const auto& c : op.convs) out.push_back(&c);
  return out;
}

}  // namespace frostnas
