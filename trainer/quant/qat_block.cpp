#include "trainer/quant/qat_block.h"

namespace frostnas {

QatBlockImpl::QatBlockImpl(const ResolvedBlock& block, QuantEngine engine) : resolved_(block) {
  if (block.kind == BlockKind::kCell) cell = register_module("cell", QatCell(block, engine));
  for (const auto& c : block.convs) {
    if (c.role == "squeeze") squeeze = register_module("squeeze", QatConvBnAct(c, engine));
    if (c.role == "expand") expand = register_module("expand", QatConvBnAct(c, engine));
    if (c.role == "depthwise") depthwise = register_module("depthwise", QatConvBnAct(c, engine));
    if (c.role == "project") project = register_module("project", QatConvBnAct(c, engine));
  }
  TORCH_CHECK(depthwise && project, "QatBlock: resolved block lacks depthwise/project convs");
  const bool concat_cell = cell && cell->genotype().join == CellJoin::kConcat;
  if (squeeze || concat_cell) {
    cat_fq = register_module("cat_fq", ActFakeQuant(act_fake_quant_options(engine)));
  }
  if (cell && !concat_cell) {
    join_fq = register_module("join_fq", ActFakeQuant(act_fake_quant_options(engine)));
  }
  if (block.residual) {
    add_fq = register_module("add_fq", ActFakeQuant(act_fake_quant_options(engine)));
  }
}

torch::Tensor QatBlockImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == resolved_.in_channels, "QatBlock expects [N, ",
              resolved_.in_channels, ", H, W], got ", x.sizes());
  torch::Tensor out = x;
  if (squeeze) out = cat_fq->forward(torch::cat({squeeze->forward(x), x}, 1));
  if (cell) {
    auto c = cell->forward(x);
    out = cat_fq ? cat_fq->forward(torch::cat({c, x}, 1)) : join_fq->forward(c + x);
  }
  if (expand) out = expand->forward(out);
  out = project->forward(depthwise->forward(out));
  return resolved_.residual ? add_fq->forward(out + x) : out;
}

}  // namespace frostnas
