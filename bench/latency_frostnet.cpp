// FP32 vs INT8 batch-1 latency of the official FrostNets at 224x224 on 1 and 2 threads,
// all measured in one run: every round times each thread count in turn, and within it
// the networks and precisions in a shuffled order, so that drift of the machine's speed
// hits every figure alike. Prints median +- interquartile range and marks rows whose IQR
// exceeds 10% of the median as unstable.
//
//   ninja -C build latency_frostnet
//   build/bench/latency_frostnet                  # --threads 1,2: both in one process
//   GOMP_SPINCOUNT=10000 build/bench/latency_frostnet --engine qnnpack --rounds 40
//
// One process can time both thread counts because of two measures:
// - OpenBLAS reads OPENBLAS_NUM_THREADS once, at load, and at 1 thread LibTorch sends
//   batch-1 1x1 convolutions to BLAS instead of oneDNN: without a run-time thread count a
//   process started for 2 threads would time its "1-thread" FP32 networks with 2 BLAS
//   threads (8.0 against 11.1 ms for small). apply_thread_settings also calls
//   openblas_set_num_threads.
// - oneDNN's quantized conv caches its primitive for the first call's thread count only
//   (one shared pack gave 2-thread INT8 slower than 1-thread INT8, 5.8 against 5.0 ms), so
//   Int8ConvBnAct keeps one packed weight per thread count.
// Figures (docs/results.md, "FrostNet latency at 224x224, FP32 against INT8"; 2026-11-26,
// idle, one process): small FP32 11.35 / 9.52 ms, INT8 5.10 / 3.46 ms on 1 / 2 threads;
// separate invocations: 11.18 / 9.04 and 4.93 / 3.31 ms.
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

#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>

#include <torch/torch.h>

#include "bench/bench_common.h"
#include "common/error.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "space/builtin_archs.h"

namespace po = boost::program_options;
using frostnas::bench::load_average;
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
    if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
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
    // Every round times each thread count in turn (the order alternating between rounds)
    // and, within it, every network and precision in a shuffled order, so that drift of
    // the machine's speed hits all figures alike. Changing the thread count per call
    // instead made every call pay for resizing the OpenMP team (2-thread FP32 figures
    // 10x the 1-thread ones), so after each switch one untimed call of every network
    // and precision comes first.
    torch::NoGradGuard no_grad;
    QEngineGuard guard(engine);
    std::vector<std::function<void()>> fns;  // per network: FP32, INT8
    for (const auto& n : nets) {
      auto int8 = n.int8;
      auto fp32 = n.fp32;
      at::Tensor x = n.input;
      fns.push_back([fp32, x] { fp32->forward(x); });
      fns.push_back([int8, x] { int8->forward(x); });
    }
    apply_thread_settings(max_threads);
    for (int64_t t : threads) {
      apply_thread_settings(t);
      for (int64_t w = 0; w < timing.warmup; ++w)
        for (auto& f : fns) f();
    }
    std::vector<std::vector<std::vector<double>>> samples(
        threads.size(), std::vector<std::vector<double>>(fns.size()));
    std::mt19937_64 rng(1);
    std::vector<size_t> order(fns.size());
    for (int64_t round = 0; round < timing.rounds; ++round) {
      for (size_t k = 0; k < threads.size(); ++k) {
        const size_t ti = round % 2 == 0 ? k : threads.size() - 1 - k;
        apply_thread_settings(threads[ti]);
        for (auto& f : fns) f();
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
        for (size_t i : order) {
          const auto t0 = std::chrono::steady_clock::now();
          fns[i]();
          samples[ti][i].push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
        }
      }
    }
    std::vector<Timing> r;
    for (auto& per_thread : samples)
      for (auto& s : per_thread) r.push_back(summarize(std::move(s)));
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
