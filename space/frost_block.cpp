#include "space/frost_block.h"

namespace frostnas {

namespace {

BlockSpec spec_of(const FrostBlockOptions& o) {
  BlockSpec b;
  b.type = o.type();
  b.kernel = o.kernel();
  b.out_channels = o.out_channels();
  b.expansion = o.expansion();
  b.reduction = o.reduction();
  b.stride = o.stride();
  b.cell = o.cell();
  return b;
}
}  // namespace

FrostBlockImpl::FrostBlockImpl(const FrostBlockOptions& opts)
    : options(opts),
      resolved_(resolve_block(spec_of(opts), opts.in_channels(), opts.input_size(), 1.0)) {
  TORCH_CHECK(opts.in_channels() > 0 && opts.out_channels() > 0,
              "FrostBlock: channels must be positive");
  TORCH_CHECK(opts.expansion() >= 1 && opts.reduction() >= 1, "FrostBlock: EF and RF must be >= 1");
  TORCH_CHECK((opts.type() == BlockType::kCell) == static_cast<bool>(opts.cell()),
              "FrostBlock: a genotype is required exactly for type cell");
  if (resolved_.kind == BlockKind::kCell) cell = register_module("cell", FloatCell(resolved_));
  for (const auto& c : resolved_.convs) {
    if (c.role == "squeeze") squeeze = register_module("squeeze", make_conv_bn_act(c));
    if (c.role == "expand") expand = register_module("expand", make_conv_bn_act(c));
    if (c.role == "depthwise") depthwise = register_module("depthwise", make_conv_bn_act(c));
    if (c.role == "project") project = register_module("project", make_conv_bn_act(c));
  }
}

torch::Tensor FrostBlockImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "FrostBlock expects [N, ",
              options.in_channels(), ", H, W], got ", x.sizes());
  torch::Tensor out = x;
  if (squeeze) out = torch::cat({squeeze->forward(x), x}, 1);
  if (cell) {
    out = cell->genotype().join == CellJoin::kConcat ? torch::cat({cell->forward(x), x}, 1)
                                                     : x + cell->forward(x);
  }
  if (expand) out = expand->forward(out);
  out = project->forward(depthwise->forward(out));
  return resolved_.residual ? out + x : out;
}

}  // namespace frostnas
