#include "trainer/int8/convert.h"

namespace frostnas {

namespace {

std::pair<at::Tensor, at::Tensor> fold(const torch::nn::Conv2d& conv,
                                       const torch::nn::BatchNorm2d& bn) {
  torch::NoGradGuard no_grad;
  // Same expression as QatConvBnActImpl::folded_weight_and_bias.
  auto sf = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
  return {(conv->weight * sf.reshape({-1, 1, 1, 1})).to(at::kCPU),
          (bn->bias - bn->running_mean * sf).to(at::kCPU)};
}

/// The "cell.*" ConvLayers of a block, in order.
std::vector<ConvLayer> cell_layers(const ResolvedBlock& r) {
  std::vector<ConvLayer> out;
  for (const auto& c : r.convs)
    if (c.role.rfind("cell.", 0) == 0) out.push_back(c);
  return out;
}

torch::nn::Module& child(torch::nn::Module& m, const std::string& name) {
  auto children = m.named_children();
  auto* c = children.find(name);
  TORCH_CHECK(c != nullptr, "cell op has no submodule '", name, "'");
  return **c;
}

ActFakeQuantImpl& child_fq(torch::nn::Module& m, const std::string& name) {
  auto* fq = child(m, name).as<ActFakeQuantImpl>();
  TORCH_CHECK(fq != nullptr, "cell op: '", name, "' is not a fake quantizer");
  return *fq;
}

torch::nn::Conv2dImpl& child_conv(torch::nn::Module& m, const std::string& name) {
  auto* conv = child(m, name).as<torch::nn::Conv2dImpl>();
  TORCH_CHECK(conv != nullptr, "cell op: '", name, "' is not a Conv2d");
  return *conv;
}

FoldedConv biased_fp32(const torch::nn::Conv2dImpl& conv, const ConvLayer& layer) {
  torch::NoGradGuard no_grad;
  return FoldedConv(layer, conv.weight.to(at::kCPU), conv.bias.to(at::kCPU));
}

/// Folded convs of one QAT cell op, with the roles of the resolved layers.
void op_fp32(CellOpImpl& op, std::vector<ConvLayer>::const_iterator& layer,
             std::vector<FoldedConv>& out) {
  if (op.name() == "se") {
    out.push_back(biased_fp32(child_conv(op, "reduce"), *layer++));
    out.push_back(biased_fp32(child_conv(op, "expand"), *layer++));
  } else if (!op.convs().empty()) {
    auto* conv = child(op, "layer").as<QatConvBnActImpl>();
    TORCH_CHECK(conv != nullptr, "cell op ", op.name(), ": 'layer' is not a QatConvBnAct");
    auto [w, b] = fold(conv->conv, conv->bn);
    out.emplace_back(*layer++, w, b);
  }
}

template <class Block>
std::vector<FoldedConv> block_convs(Block& block, const ResolvedBlock& r) {
  std::vector<FoldedConv> convs;
  if (block.cell) {
    for (auto& c : fold_to_fp32(*block.cell, r)) convs.push_back(std::move(c));
  }
  for (const auto& c : r.convs) {
    if (c.role == "squeeze") convs.push_back(fold_to_fp32(*block.squeeze));
    if (c.role == "expand") convs.push_back(fold_to_fp32(*block.expand));
    if (c.role == "depthwise") convs.push_back(fold_to_fp32(*block.depthwise));
    if (c.role == "project") convs.push_back(fold_to_fp32(*block.project));
  }
  return convs;
}

FoldedConv classifier_fp32(const torch::nn::Conv2d& classifier, const ConvLayer& layer) {
  torch::NoGradGuard no_grad;
  return FoldedConv(layer, classifier->weight.to(at::kCPU), classifier->bias.to(at::kCPU));
}

}  // namespace

Int8ConvBnAct convert_to_int8(QatConvBnActImpl& conv, QuantEngine engine) {
  auto [w, b] = conv.folded_weight_and_bias();
  return Int8ConvBnAct::from_float(conv.layer(), w, b, conv.out_fq->qparams(), engine,
                                   conv.qat_mode().weights);
}

Int8CellOp convert_to_int8(CellOpImpl& op, QuantEngine engine) {
  Int8CellOp out;
  out.op = op.name();
  TORCH_CHECK(out.op != "none", "convert_to_int8: the 'none' cell op has no INT8 form");
  const auto layers = op.convs();
  torch::NoGradGuard no_grad;
  if (out.op == "se") {
    auto& reduce = child_conv(op, "reduce");
    auto& expand = child_conv(op, "expand");
    const WeightQuant weights = op.weight_quant();
    out.convs.push_back(
        Int8ConvBnAct::from_float(layers[0], reduce.weight.to(at::kCPU), reduce.bias.to(at::kCPU),
                                  child_fq(op, "reduce_fq").qparams(), engine, weights));
    out.convs.push_back(
        Int8ConvBnAct::from_float(layers[1], expand.weight.to(at::kCPU), expand.bias.to(at::kCPU),
                                  child_fq(op, "expand_fq").qparams(), engine, weights));
    out.out = child_fq(op, "out_fq").qparams();
  } else if (!layers.empty()) {
    auto* conv = child(op, "layer").as<QatConvBnActImpl>();
    TORCH_CHECK(conv != nullptr, "cell op ", out.op, ": 'layer' is not a QatConvBnAct");
    out.convs.push_back(convert_to_int8(*conv, engine));
  } else if (out.op == "avg_pool_3x3") {
    out.out = child_fq(op, "out_fq").qparams();
  }
  out.validate();
  return out;
}

Int8Cell convert_to_int8(QatCellImpl& cell, const ResolvedBlock& block, QuantEngine engine) {
  std::optional<Int8ConvBnAct> pre;
  if (cell.pre) pre = convert_to_int8(*cell.pre, engine);
  std::vector<std::vector<Int8CellOp>> ops;
  std::vector<std::vector<QParams>> node_adds;
  for (size_t i = 0; i < cell.ops().size(); ++i) {
    std::vector<Int8CellOp> node;
    for (const auto& op : cell.ops()[i]) node.push_back(convert_to_int8(*op, engine));
    ops.push_back(std::move(node));
    std::vector<QParams> adds;
    for (const auto& fq : cell.node_add_fqs()[i]) adds.push_back(fq.ptr()->qparams());
    node_adds.push_back(std::move(adds));
  }
  std::vector<QParams> out_adds;
  for (const auto& fq : cell.out_add_fqs()) out_adds.push_back(fq.ptr()->qparams());
  return Int8Cell(block, std::move(pre), std::move(ops), std::move(node_adds), std::move(out_adds));
}

std::vector<FoldedConv> fold_to_fp32(QatCellImpl& cell, const ResolvedBlock& block) {
  const auto layers = cell_layers(block);
  auto layer = layers.cbegin();
  std::vector<FoldedConv> out;
  if (cell.pre) {
    auto [w, b] = fold(cell.pre->conv, cell.pre->bn);
    out.emplace_back(*layer++, w, b);
  }
  for (const auto& node : cell.ops())
    for (const auto& op : node) op_fp32(*op, layer, out);
  TORCH_CHECK(layer == layers.cend(), "fold_to_fp32: the cell does not match its block");
  return out;
}

std::vector<FoldedConv> fold_to_fp32(FloatCellImpl& cell, const ResolvedBlock& block) {
  const auto layers = cell_layers(block);
  auto layer = layers.cbegin();
  std::vector<FoldedConv> out;
  if (cell.pre) {
    auto [w, b] = fold(cell.pre->conv, cell.pre->bn);
    out.emplace_back(*layer++, w, b);
  }
  for (const auto& node : cell.edges()) {
    for (const auto& e : node) {
      if (e.reduce) {
        out.push_back(biased_fp32(*e.reduce, *layer++));
        out.push_back(biased_fp32(*e.expand, *layer++));
      } else if (e.layer) {
        auto [w, b] = fold(e.layer->conv, e.layer->bn);
        out.emplace_back(*layer++, w, b);
      }
    }
  }
  TORCH_CHECK(layer == layers.cend(), "fold_to_fp32: the cell does not match its block");
  return out;
}

Int8Block convert_to_int8(QatBlockImpl& block, QuantEngine engine) {
  if (block.cell) {
    std::optional<Int8ConvBnAct> expand;
    std::optional<QParams> add;
    if (block.expand) expand = convert_to_int8(*block.expand, engine);
    if (block.add_fq) add = block.add_fq->qparams();
    const QParams join = block.cat_fq ? block.cat_fq->qparams() : block.join_fq->qparams();
    return Int8Block(block.resolved(), convert_to_int8(*block.cell, block.resolved(), engine),
                     std::move(expand), convert_to_int8(*block.depthwise, engine),
                     convert_to_int8(*block.project, engine), join, add, engine);
  }
  std::optional<Int8ConvBnAct> squeeze, expand;
  std::optional<QParams> cat, add;
  if (block.squeeze) {
    squeeze = convert_to_int8(*block.squeeze, engine);
    cat = block.cat_fq->qparams();
  }
  if (block.expand) expand = convert_to_int8(*block.expand, engine);
  if (block.add_fq) add = block.add_fq->qparams();
  return Int8Block(block.resolved(), std::move(squeeze), std::move(expand),
                   convert_to_int8(*block.depthwise, engine),
                   convert_to_int8(*block.project, engine), cat, add, engine);
}

Int8Net convert_to_int8(QatNetImpl& net) {
  const QuantEngine engine = net.engine();
  std::vector<Int8Block> blocks;
  for (const auto& b : net.block_modules()) blocks.push_back(convert_to_int8(*b.ptr(), engine));
  torch::NoGradGuard no_grad;
  auto classifier = Int8ConvBnAct::from_float(
      net.resolved().classifier, net.classifier->weight.to(at::kCPU),
      net.classifier->bias.to(at::kCPU), net.logits_fq->qparams(), engine, net.weight_quant());
  return Int8Net(net.spec(), engine, net.input_fq->qparams(), convert_to_int8(*net.stem, engine),
                 std::move(blocks), convert_to_int8(*net.head, engine), std::move(classifier));
}

FoldedConv fold_to_fp32(QatConvBnActImpl& conv) {
  auto [w, b] = fold(conv.conv, conv.bn);
  return FoldedConv(conv.layer(), w, b);
}

FoldedConv fold_to_fp32(ConvBnActImpl& conv) {
  auto [w, b] = fold(conv.conv, conv.bn);
  ConvLayer layer;
  layer.in_channels = conv.options.in_channels();
  layer.out_channels = conv.options.out_channels();
  layer.kernel = conv.options.kernel();
  layer.stride = conv.options.stride();
  layer.groups = conv.options.groups();
  layer.relu = conv.options.relu();
  return FoldedConv(layer, w, b);
}

FoldedBlock fold_to_fp32(QatBlockImpl& block) {
  return FoldedBlock(block.resolved(), block_convs(block, block.resolved()));
}

FoldedBlock fold_to_fp32(FrostBlockImpl& block) {
  return FoldedBlock(block.resolved(), block_convs(block, block.resolved()));
}

FoldedNet fold_to_fp32(QatNetImpl& net) {
  std::vector<FoldedBlock> blocks;
  for (const auto& b : net.block_modules()) blocks.push_back(fold_to_fp32(*b.ptr()));
  return FoldedNet(net.spec(), fold_to_fp32(*net.stem), std::move(blocks), fold_to_fp32(*net.head),
                   classifier_fp32(net.classifier, net.resolved().classifier));
}

FoldedNet fold_to_fp32(FrostNetImpl& net) {
  std::vector<FoldedBlock> blocks;
  for (size_t i = 0; i < net.blocks->size(); ++i) {
    blocks.push_back(fold_to_fp32(*net.blocks->ptr(i)->as<FrostBlockImpl>()));
  }
  return FoldedNet(net.spec(), fold_to_fp32(*net.stem), std::move(blocks), fold_to_fp32(*net.head),
                   classifier_fp32(net.classifier, net.resolved().classifier));
}

}  // namespace frostnas
