#include "trainer/int8/int8_conv.h"

#include <mutex>
#include <utility>
#include <vector>

#include "trainer/quant/act_fake_quant.h"

namespace frostnas {

namespace {

/// The weights packed for the current engine.
ConvPacked pack_weights(const ConvLayer& layer, const at::Tensor& codes, const at::Tensor& scales,
                        const at::Tensor& bias, WeightQuant weights) {
  return conv2d_prepack(make_qweight(codes, scales, weights), bias, layer.stride, layer.padding(),
                        layer.groups);
}

}  // namespace

struct Int8ConvBnAct::Packs {
  struct Entry {
    std::vector<int64_t> sizes;  // input sizes; empty: not yet called
    int threads = 0;
    ConvPacked packed;
  };
  std::mutex mutex;
  std::vector<Entry> entries;  // entries[0] made by the constructor
};

Int8ConvBnAct::Int8ConvBnAct(const ConvLayer& layer, at::Tensor codes, at::Tensor scales,
                             at::Tensor bias, QParams out, QuantEngine engine, WeightQuant weights)
    : layer_(layer),
      codes_(codes.to(at::kCPU).contiguous()),
      scales_(scales.to(at::kCPU).to(at::kFloat).contiguous()),
      bias_(bias.to(at::kCPU).to(at::kFloat).contiguous()),
      out_(out),
      engine_(engine),
      weights_(weights) {
  const std::vector<int64_t> shape{layer.out_channels, layer.in_channels / layer.groups,
                                   layer.kernel, layer.kernel};
  TORCH_CHECK(codes_.sizes() == at::IntArrayRef(shape), "Int8ConvBnAct '", layer.role, "': weight ",
              codes_.sizes(), ", expected ", at::IntArrayRef(shape));
  TORCH_CHECK(bias_.dim() == 1 && bias_.size(0) == layer.out_channels, "Int8ConvBnAct '",
              layer.role, "': bias must be [", layer.out_channels, "]");
  TORCH_CHECK(out.scale > 0 && out.zero_point >= 0 && out.zero_point <= 255, "Int8ConvBnAct '",
              layer.role, "': bad output qparams");
  QEngineGuard guard(engine);
  packs_ = std::make_shared<Packs>();
  packs_->entries.push_back({{}, 0, pack_weights(layer_, codes_, scales_, bias_, weights_)});
}

Int8ConvBnAct Int8ConvBnAct::from_float(const ConvLayer& layer, const at::Tensor& weight,
                                        const at::Tensor& bias, QParams out, QuantEngine engine,
                                        WeightQuant weights) {
  auto [codes, scales] = quantize_weight_codes(weight.to(at::kCPU).to(at::kFloat), weights);
  return Int8ConvBnAct(layer, codes, scales, bias, out, engine, weights);
}

at::Tensor Int8ConvBnAct::forward(const at::Tensor& qx) const {
  if (engine_ != QuantEngine::kOneDNN)
    return qconv2d(qx, packs_->entries.front().packed, out_, layer_.relu);
  ConvPacked packed;
  {
    const int threads = at::get_num_threads();
    std::lock_guard<std::mutex> lock(packs_->mutex);
    auto& entries = packs_->entries;
    for (const auto& e : entries) {
      if (e.threads == threads && qx.sizes() == at::IntArrayRef(e.sizes)) {
        packed = e.packed;
        break;
      }
    }
    if (!packed) {
      if (entries.front().sizes.empty()) {
        entries.front().sizes = qx.sizes().vec();
        entries.front().threads = threads;
        packed = entries.front().packed;
      } else if (entries.size() < kMaxPacks) {
        QEngineGuard guard(engine_);
        entries.push_back(
            {qx.sizes().vec(), threads, pack_weights(layer_, codes_, scales_, bias_, weights_)});
        packed = entries.back().packed;
      } else {
        packed = entries.front().packed;
      }
    }
  }
  return qconv2d(qx, packed, out_, layer_.relu);
}

size_t Int8ConvBnAct::pack_count() const {
  std::lock_guard<std::mutex> lock(packs_->mutex);
  return packs_->entries.size();
}

}  // namespace frostnas
