// C++ (frostnas) against PyTorch eager (bench/python/qat_pytorch.py) on the same
// architecture, in one run: QAT training throughput (SGD steps on random batches with fake
// quantization on) and INT8 batch-1 latency (oneDNN), same threads and batch size. The C++
// side is measured before and after the Python one and averaged, so that a change of load
// during the run biases both alike. Both sides run with the same allocator settings: the C++
// side calls mallopt in configure_runtime (docs/frostnet.md, "LibTorch runtime notes"), the
// Python child gets the equivalent GLIBC_TUNABLES. Other environment (OMP_WAIT_POLICY, ...)
// is inherited by both.
//
//   ninja -C build qat_vs_pytorch
//   OPENBLAS_NUM_THREADS=2 build/bench/qat_vs_pytorch
//       --arch experiments/archs/proxy_default.json --threads 2 --batch-size 128 --steps 20
//
// Needs /usr/bin/python3 with the Debian package python3-torch (1.13).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "space/builtin_archs.h"
#include "space/resolved_net.h"
#include "trainer/int8/convert.h"
#include "trainer/quant/qat_net.h"
#include "trainer/train/evaluate.h"
#include "trainer/train/train_model.h"

namespace po = boost::program_options;
using frostnas::bench::load_average;
using namespace frostnas;

namespace {

struct CppFigures {
  double images_per_second = 0;
  double latency_ms = 0;
};

CppFigures measure_cpp(const NetSpec& spec, int64_t batch, int64_t warmup, int64_t steps,
                       int64_t runs) {
  torch::manual_seed(0);
  QatNet net(spec, QuantEngine::kOneDNN);
  net->enable_qat();
  net->train();
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true));
  const auto x = torch::randn({batch, spec.in_channels, spec.input_size, spec.input_size});
  const auto y = torch::randint(0, spec.num_classes, {batch});
  auto step = [&] {
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CppFigures f;
  f.images_per_second = static_cast<double>(batch * steps) / s;
  net->freeze_observers();
  net->freeze_bn();
  net->eval();
  QEngineGuard guard(QuantEngine::kOneDNN);
  const Int8Net int8 = convert_to_int8(*net);
  const auto x1 = torch::randn({1, spec.in_channels, spec.input_size, spec.input_size});
  f.latency_ms = measure_int8_latency(int8, x1, runs, 20).median_ms;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("qat_vs_pytorch");
  // clang-format off
  options.add_options()
    ("help,h", "show this help")
    ("arch", po::value<std::string>()->default_value("experiments/archs/proxy_default.json"), "frostnas.arch/1 file")
    ("threads", po::value<int64_t>()->default_value(2), "threads (both sides)")
    ("batch-size", po::value<int64_t>()->default_value(128), "training batch")
    ("warmup-steps", po::value<int64_t>()->default_value(3), "untimed training steps")
    ("steps", po::value<int64_t>()->default_value(20), "timed training steps")
    ("runs", po::value<int64_t>()->default_value(300), "timed batch-1 INT8 runs")
    ("python", po::value<std::string>()->default_value("/usr/bin/python3"), "python with torch")
    ("script", po::value<std::string>()->default_value("bench/python/qat_pytorch.py"), "reference script");
  // clang-format on
  po::variables_map vm;
  if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
  const std::string arch_path = vm["arch"].as<std::string>();
  const NetSpec spec = load_arch(arch_path);
  const int64_t threads = vm["threads"].as<int64_t>();
  const int64_t batch = vm["batch-size"].as<int64_t>();
  const int64_t warmup = vm["warmup-steps"].as<int64_t>();
  const int64_t steps = vm["steps"].as<int64_t>();
  const int64_t runs = vm["runs"].as<int64_t>();
  configure_runtime(threads);
  at::globalContext().setQEngine(at::QEngine::ONEDNN);

  std::printf("arch %s (%lld params), %lld threads, batch %lld, %lld timed steps, %lld runs\n",
              spec.name.c_str(), static_cast<long long>(resolve(spec).params()),
              static_cast<long long>(threads), static_cast<long long>(batch),
              static_cast<long long>(steps), static_cast<long long>(runs));
  std::printf("load average at start: %s\n", load_average().c_str());
  std::fflush(stdout);
  const CppFigures a = measure_cpp(spec, batch, warmup, steps, runs);
  std::printf("C++ (1st):  %.1f img/s, INT8 batch-1 median %.3f ms\n", a.images_per_second,
              a.latency_ms);
  std::fflush(stdout);

  // The allocator thresholds configure_runtime sets with mallopt, for the Python process.
  const std::string cmd = std::string(
                              "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:"
                              "glibc.malloc.trim_threshold=1073741824 ") +
                          vm["python"].as<std::string>() + " " + vm["script"].as<std::string>() +
                          " --arch " + arch_path + " --threads " + std::to_string(threads) +
                          " --batch-size " + std::to_string(batch) + " --warmup-steps " +
                          std::to_string(warmup) + " --steps " + std::to_string(steps) +
                          " --runs " + std::to_string(runs) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) {
    std::fprintf(stderr, "cannot run %s\n", cmd.c_str());
    return 1;
  }
  std::string out, line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) out += buf;
  const size_t last = out.find_last_of('{');
  if (last == std::string::npos) {
    std::fprintf(stderr, "no JSON from the Python reference: %s\n", out.c_str());
    return 1;
  }
  const nlohmann::json py = nlohmann::json::parse(out.substr(last));
  const double py_ips = py.at("train_images_per_second").get<double>();
  const double py_lat = py.at("int8_latency_ms_median").get<double>();
  std::printf("Python:     %.1f img/s, INT8 batch-1 median %.3f ms (%lld params, torch %s)\n",
              py_ips, py_lat, static_cast<long long>(py.at("params").get<int64_t>()),
              py.at("torch_version").get<std::string>().c_str());
  std::fflush(stdout);

  const CppFigures b = measure_cpp(spec, batch, warmup, steps, runs);
  std::printf("C++ (2nd):  %.1f img/s, INT8 batch-1 median %.3f ms\n", b.images_per_second,
              b.latency_ms);
  const double cpp_ips = 0.5 * (a.images_per_second + b.images_per_second);
  const double cpp_lat = 0.5 * (a.latency_ms + b.latency_ms);
  std::printf("QAT training throughput C++ / Python: %.2fx (target >= 1.2x)\n", cpp_ips / py_ips);
  std::printf("INT8 batch-1 latency    C++ / Python: %.2fx (target <= 0.6x)\n", cpp_lat / py_lat);
  std::printf("load average at end: %s\n", load_average().c_str());
  if (py.at("params").get<int64_t>() != resolve(spec).params())
    std::printf("WARNING: parameter counts differ: the models are not the same\n");
  return 0;
}
