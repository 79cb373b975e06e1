#include "trainer/quant/cell_ops.h"

#include <map>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

namespace {

/// "none": zeros (a supernet edge that is off).
class NoneOp : public CellOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return torch::zeros_like(x); }
  std::string name() const override { return "none"; }
  std::vector<ConvLayer> convs() const override { return {}; }
};

/// "skip": identity (keeps the input's quantization grid).
class SkipOp : public CellOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
  std::string name() const override { return "skip"; }
  std::vector<ConvLayer> convs() const override { return {}; }
};

/// "conv_1x1", "dwconv_3x3", "dwconv_5x5": one QatConvBnAct registered as `layer`
/// (its out_fq requantizes, as the INT8 conv does).
class ConvOp : public CellOpImpl {
 public:
  ConvOp(const std::string& name, const CellOpOptions& o) : name_(name) {
    const auto convs = cell_op_convs(name, o.channels(), o.size());
    TORCH_CHECK(convs.size() == 1, "cell op ", name, " is not a single convolution");
    layer = register_module("layer", QatConvBnAct(convs[0], o.engine()));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return layer->forward(x); }
  std::string name() const override { return name_; }
  std::vector<ConvLayer> convs() const override { return {layer->layer()}; }
  WeightQuant weight_quant() const override { return layer->qat_mode().weights; }

  QatConvBnAct layer{nullptr};

 private:
  std::string name_;
};

/// "max_pool_3x3": stride 1, padding 1. No fake quantizer: the INT8 max pool returns
/// input codes with the input's qparams.
class MaxPoolOp : public CellOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
  }
  std::string name() const override { return "max_pool_3x3"; }
  std::vector<ConvLayer> convs() const override { return {}; }
};

/// "avg_pool_3x3": stride 1, padding 1, padding not counted, then `out_fq` (the INT8 op
/// requantizes the averages onto their own grid).
class AvgPoolOp : public CellOpImpl {
 public:
  explicit AvgPoolOp(const CellOpOptions& o) {
    out_fq = register_module("out_fq", ActFakeQuant(act_fake_quant_options(o.engine())));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return out_fq->forward(torch::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false,
                                             /*count_include_pad=*/false));
  }
  std::string name() const override { return "avg_pool_3x3"; }
  std::vector<ConvLayer> convs() const override { return {}; }

  ActFakeQuant out_fq{nullptr};
};

/// "se": g = sigmoid(expand(relu(reduce(avgpool(x))))); out = x * g, with fake quantizers
/// where the INT8 op requantizes: `reduce_fq` (after ReLU), `expand_fq` (the quantized
/// conv's output before the sigmoid), the sigmoid's fixed qparams (scale 1/256, zero
/// point 0, as PyTorch's quantized sigmoid), and `out_fq` after the product.
class SeOp : public CellOpImpl, public QatModeTarget {
 public:
  explicit SeOp(const CellOpOptions& o) {
    const auto convs = cell_op_convs("se", o.channels(), o.size());
    reduce_layer_ = convs[0];
    expand_layer_ = convs[1];
    reduce = register_module(
        "reduce", torch::nn::Conv2d(torch::nn::Conv2dOptions(reduce_layer_.in_channels,
                                                             reduce_layer_.out_channels, 1)
                                        .bias(true)));
    expand = register_module(
        "expand", torch::nn::Conv2d(torch::nn::Conv2dOptions(expand_layer_.in_channels,
                                                             expand_layer_.out_channels, 1)
                                        .bias(true)));
    const auto fq = act_fake_quant_options(o.engine());
    reduce_fq = register_module("reduce_fq", ActFakeQuant(fq));
    expand_fq = register_module("expand_fq", ActFakeQuant(fq));
    out_fq = register_module("out_fq", ActFakeQuant(fq));
    torch::NoGradGuard no_grad;
    for (auto* conv : {&reduce, &expand}) {
      torch::nn::init::kaiming_normal_((*conv)->weight, 0.0, torch::kFanOut, torch::kReLU);
      torch::nn::init::zeros_((*conv)->bias);
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto s = torch::adaptive_avg_pool2d(x, {1, 1});
    s = reduce_fq->forward(torch::relu(conv(reduce, s)));
    auto g = torch::sigmoid(expand_fq->forward(conv(expand, s)));
    if (fake_quant_) g = torch::fake_quantize_per_tensor_affine(g, 1.0 / 256, 0, 0, 255);
    return out_fq->forward(x * g);
  }
  std::string name() const override { return "se"; }
  std::vector<ConvLayer> convs() const override { return {reduce_layer_, expand_layer_}; }
  void set_qat_mode(const QatMode& mode) override {
    fake_quant_ = mode.fake_quant;
    weights_ = mode.weights;
  }
  WeightQuant weight_quant() const override { return weights_; }

  torch::nn::Conv2d reduce{nullptr}, expand{nullptr};
  ActFakeQuant reduce_fq{nullptr}, expand_fq{nullptr}, out_fq{nullptr};

 private:
  torch::Tensor conv(torch::nn::Conv2d& c, const torch::Tensor& x) const {
    auto w = fake_quant_ ? fake_quantize_weight(c->weight, weights_) : c->weight;
    return torch::conv2d(x, w, c->bias);
  }
  ConvLayer reduce_layer_, expand_layer_;
  bool fake_quant_ = false;
  WeightQuant weights_ = WeightQuant::kPerChannel;
};

using CellOpFactory = std::function<CellOpPtr(const CellOpOptions&)>;

const std::map<std::string, CellOpFactory>& cell_op_registry() {
  static const std::map<std::string, CellOpFactory> r{
      {"none", [](const CellOpOptions&) { return std::make_shared<NoneOp>(); }},
      {"skip", [](const CellOpOptions&) { return std::make_shared<SkipOp>(); }},
      {"conv_1x1", [](const CellOpOptions& o) { return std::make_shared<ConvOp>("conv_1x1", o); }},
      {"dwconv_3x3",
       [](const CellOpOptions& o) { return std::make_shared<ConvOp>("dwconv_3x3", o); }},
      {"dwconv_5x5",
       [](const CellOpOptions& o) { return std::make_shared<ConvOp>("dwconv_5x5", o); }},
      {"max_pool_3x3", [](const CellOpOptions&) { return std::make_shared<MaxPoolOp>(); }},
      {"se", [](const CellOpOptions& o) { return std::make_shared<SeOp>(o); }},
      {"avg_pool_3x3", [](const CellOpOptions& o) { return std::make_shared<AvgPoolOp>(o); }},
  };
  return r;
}

}  // namespace

CellOpPtr make_cell_op(const std::string& name, const CellOpOptions& options) {
  const auto& r = cell_op_registry();
  auto it = r.find(name);
  if (it == r.end()) {
    throw InputError("cell op \"" + name +
                     "\" is unknown (allowed: " + join_strings(cell_op_names()) + ")");
  }
  TORCH_CHECK(options.channels() > 0 && options.size() > 0, "make_cell_op(", name,
              "): channels and size must be positive");
  return it->second(options);
}

}  // namespace frostnas
