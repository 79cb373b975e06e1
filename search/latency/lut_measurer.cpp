#include "search/latency/lut_measurer.h"

#include <filesystem>

#include <torch/torch.h>

#include "common/error.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"

#include "trainer/int8/convert.h"
#include "trainer/int8/int8_ops.h"
#include "trainer/quant/qat_block.h"
#include "trainer/quant/qat_mode.h"
#include "trainer/quant/qat_net.h"

namespace frostnas {

namespace {

// QAT with BN on its running statistics (eval) and observers on: the observers see
// the activations the frozen INT8 model will produce.
QatMode calibration_mode(WeightQuant weights) { return {true, true, true, true, weights}; }

// A realistic quint8 input grid for a block: standard normal data over [-4, 4]
// mapped onto the engine's activation codes.
QParams block_input_qparams(QuantEngine engine) {
  const auto qmax = static_cast<double>(activation_quant_max(engine));
  const double scale = 8.0 / qmax;
  return {scale, static_cast<int64_t>(std::lround(4.0 / scale))};
}

// Random weights with fresh BN statistics give activations that grow or vanish from
// layer to layer (and QNNPACK refuses adds whose scales differ by more than 2^8). One
// float batch in training mode with BN momentum 1 sets every running mean / variance
// to that batch's statistics, so that the eval-mode activations are normalised like a
// trained network's.
template <class Module, class Input>
void set_bn_statistics(Module& m, const Input& make_input) {
  for (auto& child : m.modules(/*include_self=*/false)) {
    if (auto* bn = child->template as<torch::nn::BatchNorm2dImpl>()) bn->options.momentum(1.0);
  }
  m.train();
  apply_qat_mode(m, QatMode::float_mode());
  torch::NoGradGuard no_grad;
  m.forward(make_input());
  m.eval();
}

struct Runner {
  std::function<void()> int8;
  std::function<void()> fp32;
};

Runner block_runner(const ResolvedBlock& rb, const TorchMeasureOptions& o, uint64_t seed) {
  torch::manual_seed(seed);
  QatBlock qat(rb, o.engine);
  const QParams in_qp = block_input_qparams(o.engine);
  set_bn_statistics(*qat, [&] {
    return torch::randn(
        {std::max<int64_t>(2, o.calibration_batch_size), rb.in_channels, rb.in_size, rb.in_size});
  });
  apply_qat_mode(*qat, calibration_mode(o.weight_quant));
  {
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < std::max<int64_t>(1, o.calibration_batches); ++b) {
      auto x = torch::randn({o.calibration_batch_size, rb.in_channels, rb.in_size, rb.in_size});
      x = torch::fake_quantize_per_tensor_affine(x, in_qp.scale, in_qp.zero_point, 0,
                                                 kActivationDtypeMax);
      qat->forward(x);
    }
  }
  auto int8 = std::make_shared<Int8Block>(convert_to_int8(*qat, o.engine));
  auto fp32 = std::make_shared<FoldedBlock>(fold_to_fp32(*qat));
  auto x = torch::randn({1, rb.in_channels, rb.in_size, rb.in_size})
               .contiguous(at::MemoryFormat::ChannelsLast);
  auto qx = quantize_activation(x, in_qp);
  return {[int8, qx] { int8->forward(qx); }, [fp32, x] { fp32->forward(x); }};
}

Runner net_part_runner(const LutItem& item, const BuiltNet& net) {
  auto int8 = net.int8;
  auto fp32 = net.fp32;
  const at::Tensor x = net.input;
  switch (item.kind) {
    case LutItem::Kind::kStem: {
      auto qx = int8->quantize_input(x);
      auto xc = x.contiguous(at::MemoryFormat::ChannelsLast);
      return {[int8, qx] { int8->stem().forward(qx); }, [fp32, xc] { fp32->stem().forward(xc); }};
    }
    case LutItem::Kind::kHead: {
      // The head's real input: the skeleton's last feature map.
      QEngineGuard guard(int8->engine());
      at::Tensor q = int8->stem().forward(int8->quantize_input(x));
      for (const auto& b : int8->blocks()) q = b.forward(q);
      at::Tensor f = fp32->stem().forward(x.contiguous(at::MemoryFormat::ChannelsLast));
      for (const auto& b : fp32->blocks()) f = b.forward(f);
      return {
          [int8, q] {
            int8->classifier().forward(at::adaptive_avg_pool2d(int8->head().forward(q), {1, 1}));
          },
          [fp32, f] {
            fp32->classifier().forward(at::adaptive_avg_pool2d(fp32->head().forward(f), {1, 1}));
          }};
    }
    case LutItem::Kind::kIo: {
      QEngineGuard guard(int8->engine());
      at::Tensor qlogits = int8->forward_quantized(int8->quantize_input(x));
      at::Tensor logits = fp32->forward(x).reshape({1, -1, 1, 1});
      return {[int8, x, qlogits] {
                int8->quantize_input(x);
                qlogits.dequantize().flatten(1);
              },
              [x, logits] {
                x.contiguous(at::MemoryFormat::ChannelsLast);
                logits.flatten(1);
              }};
    }
    case LutItem::Kind::kBlock:
      break;
  }
  TORCH_CHECK(false, "net_part_runner: not a stem, head or io item");
}

}  // namespace

BuiltNet build_net(const NetSpec& spec, QuantEngine engine, uint64_t seed,
                   int64_t calibration_batches, int64_t calibration_batch_size,
                   WeightQuant weights) {
  torch::manual_seed(seed);
  QatNet qat(spec, engine, weights);
  set_bn_statistics(*qat, [&] {
    return torch::randn({std::max<int64_t>(2, calibration_batch_size), spec.in_channels,
                         spec.input_size, spec.input_size});
  });
  qat->set_mode(calibration_mode(weights));
  {
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < std::max<int64_t>(1, calibration_batches); ++b) {
      qat->forward(torch::randn(
          {calibration_batch_size, spec.in_channels, spec.input_size, spec.input_size}));
    }
  }
  BuiltNet out;
  out.spec = spec;
  out.int8 = std::make_shared<Int8Net>(convert_to_int8(*qat));
  out.fp32 = std::make_shared<FoldedNet>(fold_to_fp32(*qat));
  out.input = torch::randn({1, spec.in_channels, spec.input_size, spec.input_size});
  return out;
}

std::vector<ItemTiming> TorchLutMeasurer::measure(const std::vector<LutItem>& items) {
  torch::NoGradGuard no_grad;
  QEngineGuard engine(options_.engine);
  std::vector<std::function<void()>> fns;
  std::shared_ptr<BuiltNet> skeleton;
  for (size_t i = 0; i < items.size(); ++i) {
    const LutItem& item = items[i];
    Runner r;
    if (item.kind == LutItem::Kind::kBlock) {
      r = block_runner(item.block, options_, options_.seed + 7919 * (i + 1));
    } else {
      if (!skeleton || !(skeleton->spec == item.net)) {
        skeleton = std::make_shared<BuiltNet>(
            build_net(item.net, options_.engine, options_.seed, options_.calibration_batches,
                      options_.calibration_batch_size, options_.weight_quant));
      }
      r = net_part_runner(item, *skeleton);
    }
    fns.push_back(std::move(r.int8));
    fns.push_back(std::move(r.fp32));
  }
  const std::vector<Timing> t = time_interleaved(fns, options_.timing);
  std::vector<ItemTiming> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) out[i] = {t[2 * i], t[2 * i + 1]};
  return out;
}

std::vector<NetTiming> time_networks(const std::vector<BuiltNet>& nets, QuantEngine engine,
                                     const TimingOptions& timing) {
  torch::NoGradGuard no_grad;
  QEngineGuard guard(engine);
  std::vector<std::function<void()>> fns;
  for (const auto& n : nets) {
    auto int8 = n.int8;
    auto fp32 = n.fp32;
    at::Tensor x = n.input;
    fns.push_back([int8, x] { int8->forward(x); });
    fns.push_back([fp32, x] { fp32->forward(x); });
  }
  const std::vector<Timing> t = time_interleaved(fns, timing);
  std::vector<NetTiming> out(nets.size());
  for (size_t i = 0; i < nets.size(); ++i) out[i] = {t[2 * i], t[2 * i + 1]};
  return out;
}

std::vector<NetTiming> measure_networks(const std::vector<NetSpec>& specs, QuantEngine engine,
                                        const TimingOptions& timing, uint64_t seed, int64_t group,
                                        const std::function<void(size_t)>& progress,
                                        WeightQuant weights) {
  std::vector<NetTiming> out;
  const size_t g = static_cast<size_t>(std::max<int64_t>(1, group));
  for (size_t start = 0; start < specs.size(); start += g) {
    std::vector<BuiltNet> nets;
    for (size_t i = start; i < std::min(specs.size(), start + g); ++i) {
      nets.push_back(build_net(specs[i], engine, seed + i, 2, 2, weights));
    }
    TimingOptions t = timing;
    t.seed = timing.seed + start;
    for (auto& nt : time_networks(nets, engine, t)) out.push_back(nt);
    if (progress) progress(out.size());
  }
  return out;
}

BuiltNet load_built_net(const std::string& dir, uint64_t seed) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  BuiltNet out;
  out.int8 = std::make_shared<Int8Net>(load_int8_model((root / "int8").string()));
  fs::path checkpoint = root / "qat.pt";
  if (!fs::exists(checkpoint)) checkpoint = root / "qat_checkpoint.pt";
  if (!fs::exists(checkpoint))
    throw InputError(dir + ": no float checkpoint (qat.pt or qat_checkpoint.pt) for the FP32 side");
  QatNet qat = load_qat_checkpoint(checkpoint.string());
  if (!(qat->spec() == out.int8->spec()))
    throw InputError(checkpoint.string() + ": architecture '" + qat->spec().name +
                     "' differs from that of " + (root / "int8").string() + " ('" +
                     out.int8->spec().name + "')");
  out.fp32 = std::make_shared<FoldedNet>(fold_to_fp32(*qat));
  out.spec = out.int8->spec();
  torch::manual_seed(seed);
  out.input = torch::randn({1, out.spec.in_channels, out.spec.input_size, out.spec.input_size});
  return out;
}

std::vector<NetTiming> time_with_companions(const std::vector<BuiltNet>& nets,
                                            const std::vector<NetSpec>& companions,
                                            QuantEngine engine, const TimingOptions& timing,
                                            uint64_t seed) {
  std::vector<BuiltNet> all = nets;
  for (size_t i = 0; i < companions.size(); ++i)
    all.push_back(build_net(companions[i], engine, seed + i));
  std::vector<NetTiming> t = time_networks(all, engine, timing);
  t.resize(nets.size());
  return t;
}

}  // namespace frostnas
