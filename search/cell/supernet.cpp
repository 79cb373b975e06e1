#include "search/cell/supernet.h"

#include "search/cell/derivation.h"
#include "space/frost_net.h"

namespace frostnas {

namespace {

ConvLayer conv_layer(const std::string& role, int64_t in, int64_t out, int64_t kernel,
                     int64_t stride, int64_t groups, int64_t in_size, bool relu) {
  ConvLayer l;
  l.role = role;
  l.in_channels = in;
  l.out_channels = out;
  l.kernel = kernel;
  l.stride = stride;
  l.groups = groups;
  l.in_size = in_size;
  l.out_size = (in_size + 2 * l.padding() - kernel) / stride + 1;
  l.batch_norm = true;
  l.relu = relu;
  l.bias = false;
  return l;
}

}  // namespace

std::vector<SearchBlockShape> supernet_block_shapes(const SupernetOptions& o) {
  const int64_t sections = static_cast<int64_t>(o.channels().size());
  TORCH_CHECK(sections >= 1, "Supernet: at least one section");
  TORCH_CHECK(o.depth() >= sections, "Supernet: depth ", o.depth(), " < ", sections, " sections");
  TORCH_CHECK(o.expansion() >= 1 && o.rf() >= 1 && o.kernel() % 2 == 1 && o.nodes() >= 1,
              "Supernet: bad expansion, rf, kernel or nodes");
  int64_t in = o.stem_channels();
  int64_t size = (o.input_size() + 2 - 3) / 2 + 1;  // stem: 3x3 stride 2 padding 1
  std::vector<SearchBlockShape> shapes;
  int64_t previous_section = 0;
  for (int64_t b = 0; b < o.depth(); ++b) {
    const int64_t section = b * sections / o.depth();
    SearchBlockShape s;
    s.in_channels = in;
    s.out_channels = o.channels()[static_cast<size_t>(section)];
    s.stride = section != previous_section ? 2 : 1;
    s.in_size = size;
    const int64_t pad = (o.kernel() - 1) / 2;
    s.out_size = (size + 2 * pad - o.kernel()) / s.stride + 1;
    s.cell_channels = cell_channels(o.join(), in, o.rf());
    s.residual = s.stride == 1 && s.in_channels == s.out_channels;
    shapes.push_back(s);
    previous_section = section;
    in = s.out_channels;
    size = s.out_size;
  }
  return shapes;
}

SearchBlockImpl::SearchBlockImpl(const SearchBlockShape& shape, const SupernetOptions& options)
    : shape_(shape), nodes_(options.nodes()), join_(options.join()) {
  const QuantEngine engine = options.engine();
  const int64_t c = shape.cell_channels;
  const int64_t size = shape.in_size;
  if (c != shape.in_channels) {
    entry = register_module(
        "entry",
        QatConvBnAct(conv_layer("squeeze", shape.in_channels, c, 1, 1, 1, size, true), engine));
  }
  const auto& ops = options.edge_ops();
  TORCH_CHECK(static_cast<int64_t>(ops.size()) == cell_edge_count(nodes_),
              "SearchBlock: ", cell_edge_count(nodes_), " edge op lists expected, got ",
              ops.size());
  edges = register_module("edges", torch::nn::ModuleList());
  for (const auto& list : ops) {
    edge_modules_.push_back(MixedOp(MixedOpOptions(c, size, list).engine(engine)));
    edges->push_back(edge_modules_.back());
  }
  node_fq = register_module("node_fq", torch::nn::ModuleList());
  for (int64_t i = 0; i < nodes_; ++i) {
    node_fq_modules_.push_back(ActFakeQuant(act_fake_quant_options(engine)));
    node_fq->push_back(node_fq_modules_.back());
  }
  if (nodes_ > 1)
    cell_fq = register_module("cell_fq", ActFakeQuant(act_fake_quant_options(engine)));
  join_fq = register_module("join_fq", ActFakeQuant(act_fake_quant_options(engine)));
  const int64_t n = join_ == CellJoin::kConcat ? c + shape.in_channels : shape.in_channels;
  const int64_t ne = n * options.expansion();
  if (options.expansion() != 1) {
    expand = register_module(
        "expand", QatConvBnAct(conv_layer("expand", n, ne, 1, 1, 1, size, true), engine));
  }
  depthwise = register_module(
      "depthwise",
      QatConvBnAct(conv_layer("depthwise", ne, ne, options.kernel(), shape.stride, ne, size, true),
                   engine));
  project = register_module("project", QatConvBnAct(conv_layer("project", ne, shape.out_channels, 1,
                                                               1, 1, shape.out_size, false),
                                                    engine));
  if (shape.residual)
    add_fq = register_module("add_fq", ActFakeQuant(act_fake_quant_options(engine)));
}

torch::Tensor SearchBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& weights) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == shape_.in_channels, "SearchBlock expects [N, ",
              shape_.in_channels, ", H, W], got ", x.sizes());
  TORCH_CHECK(weights.dim() == 2 && weights.size(0) == static_cast<int64_t>(edge_modules_.size()),
              "SearchBlock: weights [", edge_modules_.size(), ", K] expected, got ",
              weights.sizes());
  std::vector<torch::Tensor> states{entry ? entry->forward(x) : x};
  int64_t e = 0;
  for (int64_t i = 1; i <= nodes_; ++i) {
    torch::Tensor sum;
    for (int64_t j = 0; j < i; ++j, ++e) {
      torch::Tensor y = edge_modules_[static_cast<size_t>(e)]->forward(
          states[static_cast<size_t>(j)], weights[e]);
      sum = sum.defined() ? sum + y : y;
    }
    states.push_back(node_fq_modules_[static_cast<size_t>(i - 1)]->forward(sum));
  }
  torch::Tensor cell = states[1];
  if (nodes_ > 1) {
    for (int64_t i = 2; i <= nodes_; ++i) cell = cell + states[static_cast<size_t>(i)];
    cell = cell_fq->forward(cell);
  }
  torch::Tensor out = join_ == CellJoin::kConcat ? join_fq->forward(torch::cat({cell, x}, 1))
                                                 : join_fq->forward(x + cell);
  if (expand) out = expand->forward(out);
  out = project->forward(depthwise->forward(out));
  return shape_.residual ? add_fq->forward(out + x) : out;
}

SupernetImpl::SupernetImpl(const SupernetOptions& options) : options_(options) {
  const int64_t edge_count = cell_edge_count(options.nodes());
  edge_ops_ = options.edge_ops();
  if (edge_ops_.empty()) edge_ops_.assign(static_cast<size_t>(edge_count), cell_op_names());
  TORCH_CHECK(static_cast<int64_t>(edge_ops_.size()) == edge_count, "Supernet: ", edge_count,
              " edge op lists expected, got ", edge_ops_.size());
  for (const auto& list : edge_ops_)
    TORCH_CHECK(!list.empty() && list.size() == edge_ops_[0].size(),
                "Supernet: every edge needs the same number of ops");
  options_.edge_ops(edge_ops_);
  const QuantEngine engine = options.engine();
  input_fq = register_module("input_fq", ActFakeQuant(act_fake_quant_options(engine)));
  stem = register_module(
      "stem", QatConvBnAct(conv_layer("stem", options.in_channels(), options.stem_channels(), 3, 2,
                                      1, options.input_size(), true),
                           engine));
  blocks = register_module("blocks", torch::nn::ModuleList());
  const auto shapes = supernet_block_shapes(options_);
  for (const auto& s : shapes) {
    block_modules_.push_back(SearchBlock(s, options_));
    blocks->push_back(block_modules_.back());
  }
  head = register_module(
      "head", QatConvBnAct(conv_layer("head", shapes.back().out_channels, options.head_channels(),
                                      1, 1, 1, shapes.back().out_size, true),
                           engine));
  classifier = register_module(
      "classifier",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(options.head_channels(), options.num_classes(), 1).bias(true)));
  logits_fq = register_module("logits_fq", ActFakeQuant(act_fake_quant_options(engine)));
  init_classifier(*classifier);
  apply_qat_mode(*this, QatMode::float_mode());
}

void SupernetImpl::set_skip_dropout(double p) {
  for (auto& b : block_modules_)
    for (MixedOp e : b->edge_modules()) e->set_skip_dropout(p);
}

torch::Tensor SupernetImpl::forward(const torch::Tensor& x, const torch::Tensor& weights) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels(), "Supernet expects [N, ",
              options_.in_channels(), ", H, W], got ", x.sizes());
  TORCH_CHECK(weights.dim() == 2 && weights.size(1) == ops_per_edge(), "Supernet: weights [",
              edge_ops_.size(), ", ", ops_per_edge(), "] expected, got ", weights.sizes());
  torch::Tensor h = stem->forward(input_fq->forward(x));
  for (auto& b : block_modules_) h = b->forward(h, weights);
  h = head->forward(h);
  h = torch::adaptive_avg_pool2d(h, {1, 1});
  // The quantized average pool keeps the head's scale and zero point.
  if (head->out_fq->fake_quant_enabled()) h = head->out_fq->fake_quantize(h);
  torch::Tensor w = classifier->weight;
  if (mode_.fake_quant) w = fake_quantize_weight(w, mode_.weights);
  h = torch::conv2d(h, w, classifier->bias);
  return logits_fq->forward(h).flatten(1);
}

}  // namespace frostnas
