#include "trainer/quant/qat_cell.h"

namespace frostnas {

QatCellImpl::QatCellImpl(const ResolvedBlock& block, QuantEngine engine) {
  TORCH_CHECK(block.kind == BlockKind::kCell && block.spec.cell,
              "QatCell: the block is not a cell block");
  genotype_ = *block.spec.cell;
  for (const auto& c : block.convs) {
    if (c.role == "cell.pre") pre = register_module("pre", QatConvBnAct(c, engine));
  }
  const auto fq = act_fake_quant_options(engine);
  const CellOpOptions options = CellOpOptions(block.cell_channels, block.in_size).engine(engine);
  for (size_t i = 0; i < genotype_.nodes.size(); ++i) {
    const std::string node = "n" + std::to_string(i + 1);
    std::vector<CellOpPtr> ops;
    std::vector<ActFakeQuant> adds;
    for (size_t k = 0; k < genotype_.nodes[i].size(); ++k) {
      ops.push_back(register_module(node + "_e" + std::to_string(k),
                                    make_cell_op(genotype_.nodes[i][k].op, options)));
      if (k > 0) {
        adds.push_back(
            register_module(node + "_add" + std::to_string(k) + "_fq", ActFakeQuant(fq)));
      }
    }
    ops_.push_back(std::move(ops));
    node_add_fqs_.push_back(std::move(adds));
  }
  for (size_t i = 1; i < genotype_.nodes.size(); ++i) {
    out_add_fqs_.push_back(
        register_module("out_add" + std::to_string(i) + "_fq", ActFakeQuant(fq)));
  }
}

torch::Tensor QatCellImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> states{pre ? pre->forward(x) : x};
  torch::Tensor out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    torch::Tensor s;
    for (size_t k = 0; k < ops_[i].size(); ++k) {
      auto y = ops_[i][k]->forward(states[genotype_.nodes[i][k].input]);
      s = k == 0 ? y : node_add_fqs_[i][k - 1]->forward(s + y);
    }
    states.push_back(s);
    out = i == 0 ? s : out_add_fqs_[i - 1]->forward(out + s);
  }
  return out;
}

}  // namespace frostnas
