// Does the exported TorchScript give frostnas's logits? A trained model directory (from
// `frostnas train` or the pipeline) and its INT8 TorchScript export, on the first
// --count test images of its data set (normalised as its input.json says), batches of
// --batch-size through both: rows whose logits are bit-identical, the largest difference,
// and batch-1 latency of both interleaved in one process (ratio). --dump DIR writes
// what bench/python/export_torchscript.py and bench/onnx_runtime_check.mjs compare
// against: inputs.f32 [count, C, H, W], logits.f32 [count, classes] (Int8Net),
// labels.i32 [count] (raw little-endian) and meta.json. bench/export_check.sh runs all three.
//
//   ninja -C build export_check frostnas
//   build/frostnas export-model --model RUN --format torchscript --out /tmp/m.pt
//   build/bench/export_check --model RUN --torchscript /tmp/m.pt --count 1000
//       [--dump /tmp/export_check --dump-count 10000] [--threads 1 --runs 300]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <torch/script.h>
#include <torch/torch.h>
#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "export/model_export.h"
#include "trainer/data/load_dataset.h"
#include "trainer/data/transforms.h"
#include "trainer/train/evaluate.h"
#include "trainer/train/train_model.h"

namespace po = boost::program_options;
using namespace frostnas;

namespace {

/// Logits of `forward` over `inputs`, batch by batch.
torch::Tensor batched(const ForwardFn& forward, const torch::Tensor& inputs, int64_t batch) {
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < inputs.size(0); i += batch)
    out.push_back(forward(inputs.slice(0, i, std::min(i + batch, inputs.size(0)))));
  return torch::cat(out);
}

void write_raw(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("export_check");
  // clang-format off
  options.add_options()
    ("help", "show this help")
    ("model", po::value<std::string>()->required(), "training output or pipeline model directory")
    ("torchscript", po::value<std::string>()->required(), "its `frostnas export-model --format torchscript` file")
    ("data", po::value<std::string>()->default_value("fashion-mnist"), "data set (test split)")
    ("data-dir", po::value<std::string>()->default_value(""), "data directory")
    ("count", po::value<int64_t>()->default_value(1000), "test images compared")
    ("batch-size", po::value<int64_t>()->default_value(256), "batch size of the comparison")
    ("dump", po::value<std::string>()->default_value(""), "write inputs / logits / labels here")
    ("dump-count", po::value<int64_t>()->default_value(10000), "images written by --dump")
    ("threads", po::value<int64_t>()->default_value(1), "intra-op threads")
    ("runs", po::value<int64_t>()->default_value(300), "timed batch-1 runs per side");
  // clang-format on
  po::variables_map vm;
  try {
    if (!bench::parse_args(argc, argv, options, vm)) return 0;
    configure_runtime(vm["threads"].as<int64_t>());
    const ExportSource source = load_export_source(vm["model"].as<std::string>(), false);
    const Int8Net& net = *source.int8;
    ImageDataset test =
        load_dataset(vm["data"].as<std::string>(), "test", vm["data-dir"].as<std::string>());
    const int64_t n =
        std::min(test.size(), std::max(vm["count"].as<int64_t>(), vm["dump-count"].as<int64_t>()));
    const torch::Tensor inputs = images_to_input(test.images.slice(0, 0, n), source.input.mean,
                                                 source.input.std, source.input.transform);
    const int64_t batch = vm["batch-size"].as<int64_t>();
    const ForwardFn frostnas_fn = [&](const torch::Tensor& x) {
      QEngineGuard guard(net.engine());
      return net.forward(x);
    };
    const torch::Tensor logits = batched(frostnas_fn, inputs, batch);

    QEngineGuard guard(net.engine());
    torch::jit::Module m = torch::jit::load(vm["torchscript"].as<std::string>());
    const ForwardFn script_fn = [&](const torch::Tensor& x) { return m.forward({x}).toTensor(); };
    const int64_t count = std::min(n, vm["count"].as<int64_t>());
    const torch::Tensor a = logits.slice(0, 0, count);
    const torch::Tensor b = batched(script_fn, inputs.slice(0, 0, count), batch);
    const int64_t identical = (a == b).all(1).sum().item<int64_t>();
    const double max_diff = (a - b).abs().max().item<double>();

    const int64_t runs = vm["runs"].as<int64_t>();
    const torch::Tensor x1 = inputs.slice(0, 0, 1);
    // A module loaded afresh for batch 1: oneDNN keeps each conv's primitive for the first
    // input shape it sees, so the module that ran batches of 256 is slower at batch 1 (as
    // Int8Net would be without its per-shape packs).
    torch::jit::Module m1 = torch::jit::load(vm["torchscript"].as<std::string>());
    const ForwardFn script1_fn = [&](const torch::Tensor& x) { return m1.forward({x}).toTensor(); };
    LatencyStats ts{}, fn{};
    for (int round = 0; round < 3; ++round) {  // interleaved: drift hits both sides
      const LatencyStats t = measure_latency(script1_fn, x1, runs / 3, 20);
      const LatencyStats f = measure_latency(frostnas_fn, x1, runs / 3, 20);
      ts.median_ms += t.median_ms / 3;
      fn.median_ms += f.median_ms / 3;
    }
    std::printf("model %s (%s, engine %s), %lld %s test images, batches of %lld\n",
                vm["model"].as<std::string>().c_str(), net.spec().name.c_str(),
                to_string(net.engine()).c_str(), static_cast<long long>(count),
                vm["data"].as<std::string>().c_str(), static_cast<long long>(batch));
    std::printf(
        "TorchScript (C++ torch::jit::load) vs Int8Net: %lld / %lld rows bit-identical, "
        "max |diff| %.9g\n",
        static_cast<long long>(identical), static_cast<long long>(count), max_diff);
    std::printf(
        "batch-1 latency, %lld threads: TorchScript %.4f ms, frostnas %.4f ms, ratio "
        "%.3f (mean of 3 interleaved medians)\n",
        static_cast<long long>(vm["threads"].as<int64_t>()), ts.median_ms, fn.median_ms,
        ts.median_ms / fn.median_ms);
    std::printf("load average: %s\n", bench::load_average().c_str());

    const std::string dump = vm["dump"].as<std::string>();
    if (!dump.empty()) {
      std::filesystem::create_directories(dump);
      const int64_t d = std::min(n, vm["dump-count"].as<int64_t>());
      write_raw(dump + "/inputs.f32", inputs.slice(0, 0, d));
      write_raw(dump + "/logits.f32", logits.slice(0, 0, d));
      write_raw(dump + "/labels.i32", test.labels.slice(0, 0, d).to(torch::kInt));
      const nlohmann::json meta{
          {"count", d},
          {"shape", inputs.slice(0, 0, d).sizes().vec()},
          {"classes", logits.size(1)},
          {"logit_scale", net.classifier().out_qparams().scale},
          {"engine", to_string(net.engine())},
          {"batch_size", batch},
          {"frostnas_acc", (logits.slice(0, 0, d).argmax(1) == test.labels.slice(0, 0, d))
                                   .to(torch::kDouble)
                                   .mean()
                                   .item<double>() *
                               100}};
      std::ofstream(dump + "/meta.json") << meta.dump(2) << "\n";
      std::printf("wrote %s/{inputs.f32,logits.f32,labels.i32,meta.json} (%lld images)\n",
                  dump.c_str(), static_cast<long long>(d));
    }
    return identical == count ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "export_check: " << e.what() << "\n";
    return 2;
  }
}
