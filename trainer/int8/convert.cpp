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

template <class Block>
std::vector<FoldedConv> block_convs(Block& block, const ResolvedBlock& r) {
  std::vector<FoldedConv> convs;
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
  return Int8ConvBnAct::from_float(conv.layer(), w, b, conv.out_fq->qparams(), engine);
}

Int8Block convert_to_int8(QatBlockImpl& block, QuantEngine engine) {
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
      net.classifier->bias.to(at::kCPU), net.logits_fq->qparams(), engine);
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
