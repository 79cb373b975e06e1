// Do trained networks run slower than the latency table's random-weight networks? A saved
// INT8 model (`frostnas train` or the pipeline's `<db>.d/pipeline/<id>/<name>/int8`)
// against the same architecture with seeded random weights calibrated on random data
// (what the table measures), timed interleaved in one process at batch 1: whole
// networks, then every stage (stem, each block, head) on the input the network gives
// it. `--first-batch 64` makes the trained networks' first call a batch of 64, as an
// accuracy run before timing does.
//
//   ninja -C build latency_trained_gap
//   build/bench/latency_trained_gap --model RUN/int8 [--model ...] --threads 1 --rounds 60
//       [--first-batch 64]
//
// Figures (docs/results.md, "Trained against random weights"; 2026-11-26, idle, the
// pipeline's found-1 and mobilenet-1.00): trained / random 0.98-1.01 for whole networks and
// 0.97-1.03 for every stage: the weights do not matter. `--first-batch 64` gives 1.00x with
// Int8ConvBnAct's packed weight per input shape, and gave 1.95x and 2.33x with a single
// pack per layer: oneDNN's quantized conv caches its primitive for the first call's shape
// only (trainer/int8/int8_conv.h).
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "common/error.h"
#include "search/latency/lut_measurer.h"
#include "search/latency/timing.h"
#include "trainer/int8/int8_artifact.h"

namespace po = boost::program_options;
using frostnas::bench::load_average;
using namespace frostnas;

namespace {

/// The quantized input of every stage of `net` for `qx`: stem input, each block's
/// input, the head's input.
std::vector<at::Tensor> stage_inputs(const Int8Net& net, const at::Tensor& qx) {
  std::vector<at::Tensor> in{qx};
  at::Tensor y = net.stem().forward(qx);
  for (const auto& b : net.blocks()) {
    in.push_back(y);
    y = b.forward(y);
  }
  in.push_back(y);
  return in;
}

/// Stage `i` of `net` (0 stem, 1..B blocks, B + 1 head with pool and classifier).
std::function<void()> stage_fn(std::shared_ptr<const Int8Net> net, size_t i, at::Tensor x) {
  const size_t blocks = net->blocks().size();
  if (i == 0) return [net, x] { net->stem().forward(x); };
  if (i <= blocks) return [net, i, x] { net->blocks()[i - 1].forward(x); };
  return [net, x] {
    net->classifier().forward(at::adaptive_avg_pool2d(net->head().forward(x), {1, 1}));
  };
}

}  // namespace

int main(int argc, char** argv) {
  try {
    po::options_description options("latency_trained_gap options");
    options.add_options()("help,h", "show this help")(
        "model", po::value<std::vector<std::string>>()->required(),
        "saved INT8 model directory (repeatable)")(
        "threads", po::value<int64_t>()->default_value(1), "threads")(
        "rounds", po::value<int64_t>()->default_value(100), "timed interleaved rounds")(
        "seed", po::value<uint64_t>()->default_value(0), "seed of the random weights")(
        "first-batch", po::value<int64_t>()->default_value(1),
        "batch of the trained networks' first call (an accuracy run before timing)");
    po::variables_map vm;
    if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
    const int64_t threads = vm["threads"].as<int64_t>();
    if (threads < 1) throw InputError("--threads: must be at least 1");
    TimingOptions timing;
    timing.rounds = vm["rounds"].as<int64_t>();
    if (timing.rounds < 3) throw InputError("--rounds: must be at least 3");

    std::vector<std::shared_ptr<const Int8Net>> trained, random;
    std::vector<at::Tensor> inputs;
    for (const auto& dir : vm["model"].as<std::vector<std::string>>()) {
      auto t = std::make_shared<const Int8Net>(load_int8_model(dir));
      BuiltNet r = build_net(t->spec(), t->engine(), vm["seed"].as<uint64_t>());
      trained.push_back(t);
      random.push_back(r.int8);
      inputs.push_back(r.input);
    }
    const QuantEngine engine = trained.front()->engine();
    reexec_with_thread_env(std::vector<std::string>(argv, argv + argc), threads, engine);
    apply_thread_settings(threads);
    torch::NoGradGuard no_grad;
    QEngineGuard guard(engine);
    std::printf("engine %s, batch 1, %lld thread(s), %lld rounds, CPU %s, load average %s\n",
                to_string(engine).c_str(), static_cast<long long>(threads),
                static_cast<long long>(timing.rounds), cpu_model_name().c_str(),
                load_average().c_str());

    const int64_t first_batch = vm["first-batch"].as<int64_t>();
    for (size_t m = 0; m < trained.size(); ++m)
      trained[m]->forward(inputs[m].expand({first_batch, -1, -1, -1}).contiguous());
    // Whole networks, all interleaved.
    std::vector<std::function<void()>> fns;
    for (size_t m = 0; m < trained.size(); ++m) {
      auto t = trained[m], r = random[m];
      at::Tensor x = inputs[m];
      fns.push_back([t, x] { t->forward(x); });
      fns.push_back([r, x] { r->forward(x); });
    }
    auto whole = time_interleaved(fns, timing);
    std::printf("%-24s %12s %12s %8s\n", "network", "trained ms", "random ms", "ratio");
    for (size_t m = 0; m < trained.size(); ++m)
      std::printf("%-24s %12.3f %12.3f %8.3f\n", trained[m]->spec().name.c_str(),
                  whole[2 * m].median_ms, whole[2 * m + 1].median_ms,
                  whole[2 * m].median_ms / whole[2 * m + 1].median_ms);

    // Every stage of each network, trained and random side by side on their own inputs.
    for (size_t m = 0; m < trained.size(); ++m) {
      const auto ti = stage_inputs(*trained[m], trained[m]->quantize_input(inputs[m]));
      const auto ri = stage_inputs(*random[m], random[m]->quantize_input(inputs[m]));
      std::vector<std::function<void()>> sf;
      for (size_t i = 0; i < ti.size(); ++i) {
        sf.push_back(stage_fn(trained[m], i, ti[i]));
        sf.push_back(stage_fn(random[m], i, ri[i]));
      }
      auto st = time_interleaved(sf, timing);
      std::printf(
          "\n%s, per stage (sum trained %.3f, random %.3f ms)\n", trained[m]->spec().name.c_str(),
          [&] {
            double s = 0;
            for (size_t i = 0; i < st.size(); i += 2) s += st[i].median_ms;
            return s;
          }(),
          [&] {
            double s = 0;
            for (size_t i = 1; i < st.size(); i += 2) s += st[i].median_ms;
            return s;
          }());
      std::printf("%-8s %-22s %12s %12s %8s\n", "stage", "input", "trained ms", "random ms",
                  "ratio");
      for (size_t i = 0; i < ti.size(); ++i) {
        const std::string name =
            i == 0 ? "stem" : (i == ti.size() - 1 ? "head" : "block" + std::to_string(i - 1));
        std::ostringstream shape;
        shape << ti[i].sizes();
        std::printf("%-8s %-22s %12.4f %12.4f %8.3f\n", name.c_str(), shape.str().c_str(),
                    st[2 * i].median_ms, st[2 * i + 1].median_ms,
                    st[2 * i].median_ms / st[2 * i + 1].median_ms);
      }
    }
    std::printf("load average after: %s\n", load_average().c_str());
    return 0;
  } catch (const InputError& e) {
    std::cerr << "latency_trained_gap: error: " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "latency_trained_gap: error: " << e.what() << "\n";
    return 2;
  }
}
