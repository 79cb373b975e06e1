#include "trainer/quant/qat_net.h"

#include "common/error.h"

namespace frostnas {

QatNetImpl::QatNetImpl(const NetSpec& spec, QuantEngine engine, WeightQuant weights)
    : spec_(spec), resolved_(resolve(spec)), engine_(engine), weights_(weights) {
  input_fq = register_module("input_fq", ActFakeQuant(act_fake_quant_options(engine)));
  stem = register_module("stem", QatConvBnAct(resolved_.stem, engine));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (const auto& b : resolved_.blocks) {
    block_modules_.push_back(QatBlock(b, engine));
    blocks->push_back(block_modules_.back());
  }
  head = register_module("head", QatConvBnAct(resolved_.head, engine));
  dropout = register_module("dropout", torch::nn::Dropout(spec.dropout));
  classifier = register_module(
      "classifier",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(spec.head.channels, spec.num_classes, 1).bias(true)));
  logits_fq = register_module("logits_fq", ActFakeQuant(act_fake_quant_options(engine)));
  init_classifier(*classifier);
  set_mode(QatMode::float_mode());
}

void QatNetImpl::set_mode(const QatMode& mode) {
  QatMode m = mode;
  m.weights = weights_;
  apply_qat_mode(*this, m);
}

void QatNetImpl::set_channels_last(bool on) {
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* layer = dynamic_cast<QatConvBnActImpl*>(m.get())) layer->set_channels_last(on);
  }
}

void QatNetImpl::set_float_mode() { set_mode(QatMode::float_mode()); }

void QatNetImpl::enable_qat() {
  QatMode m = QatMode::qat();
  m.bn_frozen = mode_.bn_frozen;
  set_mode(m);
}

void QatNetImpl::enable_fake_quant(bool on) {
  QatMode m = mode_;
  m.fake_quant = on;
  set_mode(m);
}

void QatNetImpl::enable_observers(bool on) {
  QatMode m = mode_;
  m.observers = on;
  set_mode(m);
}

void QatNetImpl::freeze_bn() {
  QatMode m = mode_;
  m.bn_frozen = true;
  set_mode(m);
}

torch::Tensor QatNetImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == spec_.in_channels, "QatNet expects [N, ",
              spec_.in_channels, ", H, W], got ", x.sizes());
  x = stem->forward(input_fq->forward(x));
  for (auto& b : block_modules_) x = b->forward(x);
  x = head->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1});
  // The quantized average pool keeps the head's scale and zero point.
  if (head->out_fq->fake_quant_enabled()) x = head->out_fq->fake_quantize(x);
  x = dropout->forward(x);
  auto w = classifier->weight;
  if (mode_.fake_quant) w = fake_quantize_weight(w, weights_);
  x = torch::conv2d(x, w, classifier->bias);
  return logits_fq->forward(x).flatten(1);
}

namespace {

void copy_named(const torch::OrderedDict<std::string, torch::Tensor>& from,
                const torch::OrderedDict<std::string, torch::Tensor>& to, const std::string& what) {
  torch::NoGradGuard no_grad;
  for (const auto& item : from) {
    const torch::Tensor* dst = to.find(item.key());
    if (dst == nullptr) {
      throw InputError(what + ": " + item.key() + ": no such parameter in the target network");
    }
    if (dst->sizes() != item.value().sizes()) {
      throw InputError(what + ": " + item.key() + ": shape mismatch");
    }
    const_cast<torch::Tensor*>(dst)->copy_(item.value());
  }
}

}  // namespace

void copy_float_weights(FrostNetImpl& from, QatNetImpl& to) {
  TORCH_CHECK(from.spec() == to.spec(), "copy_float_weights: networks of different specs");
  copy_named(from.named_parameters(), to.named_parameters(), "copy_float_weights");
  copy_named(from.named_buffers(), to.named_buffers(), "copy_float_weights");
}

void copy_to_float(QatNetImpl& from, FrostNetImpl& to) {
  TORCH_CHECK(from.spec() == to.spec(), "copy_to_float: networks of different specs");
  auto src_p = from.named_parameters();
  auto src_b = from.named_buffers();
  torch::NoGradGuard no_grad;
  for (auto& item : to.named_parameters()) {
    const torch::Tensor* s = src_p.find(item.key());
    TORCH_CHECK(s != nullptr, "copy_to_float: missing ", item.key());
    item.value().copy_(*s);
  }
  for (auto& item : to.named_buffers()) {
    const torch::Tensor* s = src_b.find(item.key());
    TORCH_CHECK(s != nullptr, "copy_to_float: missing ", item.key());
    item.value().copy_(*s);
  }
}

}  // namespace frostnas
