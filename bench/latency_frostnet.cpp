// FP32 vs INT8 batch-1 latency of the official FrostNets at 224x224 on 1 and 2 threads,
// all measured in one run: networks, precisions AND thread counts interleaved per round
// (torch::set_num_threads before each call), so that drift of the machine's speed hits
// every figure alike. Prints median +- interquartile range and marks rows whose IQR
// exceeds 10% of the median as unstable.
//
//   ninja -C build latency_frostnet && build/bench/latency_frostnet
//   GOMP_SPINCOUNT=10000 build/bench/latency_frostnet --engine qnnpack --rounds 40
//
// On a 2-core VM shared with other work, 2-thread figures need both cores: a preempted
// OpenMP worker holds the other at the barrier for a scheduler slice (milliseconds),
// so 2-thread figures are only trustworthy when the load average is below about 1.
//
// INT8 = Int8Net (real quantized kernels of the engine, after QAT calibration on random
// data), FP32 = FoldedNet (BN folded, channels-last). The reduction rate is
// 1 - INT8 / FP32 (the FrostNet paper reports about 65% on its CPU).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include <cstdlib>
#include <functional>

#include <torch/torch.h>

#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "space/builtin_archs.h"
#include "space/error.h"

namespace po = boost::program_options;
using namespace frostnas;

namespace {

std::vector<int64_t> parse_threads(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    const int64_t t = std::stoll(part);
    if (t < 1 || t > 256) throw InputError("--threads: " + part + " is out of range (1..256)");
    out.push_back(t);
  }
  if (out.empty()) throw InputError("--threads: empty list");
  return out;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    po::options_description options("latency_frostnet options");
    options.add_options()("help,h", "show this help")(
        "engine", po::value<std::string>()->default_value("onednn"), "onednn or qnnpack")(
        "threads", po::value<std::string>()->default_value("1,2"),
        "thread counts, comma-separated")("rounds", po::value<int64_t>()->default_value(40),
                                          "timed interleaved rounds")(
        "input-size", po::value<int64_t>()->default_value(224), "input side")(
        "width", po::value<std::string>()->default_value("1.0"), "width multiplier of the names");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    const QuantEngine engine = parse_quant_engine(vm["engine"].as<std::string>(), "--engine");
    const std::vector<int64_t> threads = parse_threads(vm["threads"].as<std::string>());
    int64_t max_threads = 1;
    for (int64_t t : threads) max_threads = std::max(max_threads, t);
    // GOMP_SPINCOUNT (QNNPACK on several threads) must be set before libgomp loads.
    reexec_with_thread_env(std::vector<std::string>(argv, argv + argc), max_threads, engine);

    TimingOptions timing;
    timing.rounds = vm["rounds"].as<int64_t>();
    timing.warmup = 3;
    std::vector<BuiltNet> nets;
    for (const char* variant : {"small", "base", "large"}) {
      NetSpec spec =
          builtin_arch(std::string("frostnet-") + variant + "-" + vm["width"].as<std::string>());
      spec.input_size = vm["input-size"].as<int64_t>();
      nets.push_back(build_net(spec, engine, 0));
    }
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    std::printf(
        "engine %s, input %lldx%lld, batch 1, %lld rounds, CPU %s, GOMP_SPINCOUNT=%s, "
        "OMP_WAIT_POLICY=%s, load average %s\n",
        to_string(engine).c_str(), static_cast<long long>(nets[0].spec.input_size),
        static_cast<long long>(nets[0].spec.input_size), static_cast<long long>(timing.rounds),
        cpu_model_name().c_str(), spin ? spin : "(default)", wait ? wait : "(default)",
        load_average().c_str());
    // One function per (threads, network, precision), all interleaved in every round.
    torch::NoGradGuard no_grad;
    QEngineGuard guard(engine);
    std::vector<std::function<void()>> fns;
    for (int64_t t : threads) {
      for (const auto& n : nets) {
        auto int8 = n.int8;
        auto fp32 = n.fp32;
        at::Tensor x = n.input;
        fns.push_back([t, fp32, x] {
          torch::set_num_threads(static_cast<int>(t));
          fp32->forward(x);
        });
        fns.push_back([t, int8, x] {
          torch::set_num_threads(static_cast<int>(t));
          int8->forward(x);
        });
      }
    }
    apply_thread_settings(max_threads);
    timing.seed = 1;
    const std::vector<Timing> r = time_interleaved(fns, timing);
    std::printf("%-22s %7s %16s %16s %11s  %s\n", "network", "threads", "FP32 ms (IQR)",
                "INT8 ms (IQR)", "INT8 saves", "stability");
    size_t k = 0;
    for (int64_t t : threads) {
      for (const auto& n : nets) {
        const Timing& f = r[k++];
        const Timing& q = r[k++];
        const bool unstable = f.spread_ms > 0.1 * f.median_ms || q.spread_ms > 0.1 * q.median_ms;
        std::printf("%-22s %7lld %8.2f (%5.2f) %8.2f (%5.2f) %10.1f%%  %s\n", n.spec.name.c_str(),
                    static_cast<long long>(t), f.median_ms, f.spread_ms, q.median_ms, q.spread_ms,
                    100.0 * (1.0 - q.median_ms / f.median_ms),
                    unstable ? "UNSTABLE (IQR > 10% of median)" : "ok");
      }
    }
    std::printf("load average after: %s (IQR: interquartile range of the rounds)\n",
                load_average().c_str());
    return 0;
  } catch (const InputError& e) {
    std::cerr << "latency_frostnet: error: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "latency_frostnet: error: " << e.what() << "\n";
    return 2;
  }
}
