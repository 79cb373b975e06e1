#include "trainer/int8/int8_block.h"

namespace frostnas {

Int8Block::Int8Block(const ResolvedBlock& block, std::optional<Int8ConvBnAct> squeeze,
                     std::optional<Int8ConvBnAct> expand, Int8ConvBnAct depthwise,
                     Int8ConvBnAct project, std::optional<QParams> cat, std::optional<QParams> add,
                     QuantEngine engine)
    : resolved_(block),
      squeeze_(std::move(squeeze)),
      expand_(std::move(expand)),
      depthwise_(std::move(depthwise)),
      project_(std::move(project)),
      cat_(cat),
      add_(add),
      engine_(engine) {
  const bool frost = block.kind == BlockKind::kFrost;
  TORCH_CHECK(block.kind != BlockKind::kCell, "Int8Block: a cell block needs its Int8Cell");
  TORCH_CHECK(squeeze_.has_value() == frost && cat_.has_value() == frost,
              "Int8Block: squeeze and cat are required exactly for Frost blocks");
  TORCH_CHECK(expand_.has_value() == (block.kind != BlockKind::kDepthwise),
              "Int8Block: expand is required unless EF = 1");
  TORCH_CHECK(add_.has_value() == block.residual,
              "Int8Block: add qparams are required exactly for residual blocks");
}

Int8Block::Int8Block(const ResolvedBlock& block, Int8Cell cell, std::optional<Int8ConvBnAct> expand,
                     Int8ConvBnAct depthwise, Int8ConvBnAct project, QParams join,
                     std::optional<QParams> add, QuantEngine engine)
    : resolved_(block),
      expand_(std::move(expand)),
      cell_(std::move(cell)),
      depthwise_(std::move(depthwise)),
      project_(std::move(project)),
      cat_(join),
      add_(add),
      engine_(engine) {
  TORCH_CHECK(block.kind == BlockKind::kCell, "Int8Block: a cell for a block of kind ",
              to_string(block.kind));
  TORCH_CHECK(expand_.has_value(), "Int8Block: expand is required for cell blocks");
  TORCH_CHECK(add_.has_value() == block.residual,
              "Int8Block: add qparams are required exactly for residual blocks");
}

at::Tensor Int8Block::forward(const at::Tensor& qx) const {
  TORCH_CHECK(qx.is_quantized() && qx.dim() == 4 && qx.size(1) == resolved_.in_channels,
              "Int8Block expects quantized [N, ", resolved_.in_channels, ", H, W], got ",
              qx.sizes());
  QEngineGuard guard(engine_);
  at::Tensor out = qx;
  if (squeeze_) out = qcat({squeeze_->forward(qx), qx}, 1, *cat_);
  if (cell_) {
    auto c = cell_->forward(qx);
    out =
        cell_->genotype().join == CellJoin::kConcat ? qcat({c, qx}, 1, *cat_) : qadd(c, qx, *cat_);
  }
  if (expand_) out = expand_->forward(out);
  out = project_.forward(depthwise_.forward(out));
  return add_ ? qadd(out, qx, *add_) : out;
}

}  // namespace frostnas
