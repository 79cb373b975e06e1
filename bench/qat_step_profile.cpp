// Where the time of one QAT training step goes: forward, backward and optimizer step of
// QatNet (fake quantization on, as in bench/qat_vs_pytorch) in ms per step, and with
// --ops N the N operators with the largest self time (LibTorch's legacy CPU profiler).
// Variants are timed interleaved in one process (A B A B ...), so that load changes on a
// shared machine bias them alike; compare the variants' ratios, not absolute times.
//
//   ninja -C build qat_step_profile
//   OPENBLAS_NUM_THREADS=2 build/bench/qat_step_profile
//       --arch experiments/archs/proxy_default.json --threads 2 --batch-size 128
//       --steps 10 --optimizer sgd,qsgd --ops 25
//   build/frostnas arch show frostnet-small-1.0 --input-size 28 --in-channels 1 --classes 10
//       --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["arch"]))'
//       > small28.json
//   build/bench/qat_step_profile --arch small28.json --optimizer sgd,qsgd
//       --boost-kernel fused,reference --steps 10
//   build/bench/qat_step_profile --arch small28.json --optimizer qsgd --channels-last
//       --precision qat,fp32 --ops 15    # where QAT's overhead over float goes
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <boost/program_options.hpp>

#include "bench/bench_common.h"
#include "space/builtin_archs.h"
#include "trainer/optim/boost_kernel.h"
#include "trainer/optim/grad_boost.h"
#include "trainer/optim/optimizer_factory.h"
#include "trainer/quant/qat_net.h"
#include "trainer/train/train_model.h"

namespace po = boost::program_options;
using namespace frostnas;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// One configuration under test and its accumulated times.
struct Variant {
  std::string name;
  std::string optimizer;  ///< optimizer_names() entry
  bool channels_last = false;
  BoostKernel kernel = BoostKernel::kFused;
  bool fake_quant = true;  ///< false: the same network in float (QAT's overhead = the difference)
  QatNet net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> opt;
  torch::Tensor x, y;
  double forward_ms = 0, backward_ms = 0, step_ms = 0;
  int64_t steps = 0;
};

void setup(Variant& v, const NetSpec& spec, int64_t batch) {
  torch::manual_seed(0);
  v.net = QatNet(spec, QuantEngine::kOneDNN);
  if (v.fake_quant) v.net->enable_qat();
  v.net->train();
  OptimizerConfig oc;
  oc.name = v.optimizer;
  oc.lr = 0.01;
  v.opt = make_optimizer(oc, v.net->parameters());
  // GradBoost after the StatAssist switch: the noise path is on.
  set_gradboost_warmup(*v.opt, false);
  v.x = torch::randn({batch, spec.in_channels, spec.input_size, spec.input_size});
  v.net->set_channels_last(v.channels_last);
  v.y = torch::randint(0, spec.num_classes, {batch});
}

void run_step(Variant& v, bool timed) {
  set_boost_kernel(v.kernel);
  auto t0 = Clock::now();
  auto loss = torch::nn::functional::cross_entropy(v.net->forward(v.x), v.y);
  const double f = ms_since(t0);
  t0 = Clock::now();
  v.opt->zero_grad();
  loss.backward();
  const double b = ms_since(t0);
  t0 = Clock::now();
  v.opt->step();
  const double s = ms_since(t0);
  if (!timed) return;
  v.forward_ms += f;
  v.backward_ms += b;
  v.step_ms += s;
  v.steps += 1;
}

/// Self time per operator name over the recorded events (push/pop ranges nest per thread).
void print_top_ops(const torch::autograd::profiler::thread_event_lists& lists, int64_t steps,
                   int64_t top) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  std::map<std::string, std::pair<double, int64_t>> self;  // name -> (us, calls)
  double total = 0;
  for (const auto& events : lists) {
    struct Open {
      const LegacyEvent* start;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const Open o = stack.back();
        stack.pop_back();
        const double incl = o.start->cpuElapsedUs(e);
        auto& slot = self[o.start->name()];
        slot.first += incl - o.children_us;
        slot.second += 1;
        if (!stack.empty()) {
          stack.back().children_us += incl;
        } else {
          total += incl;
        }
      }
    }
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> rows(self.begin(), self.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("%-58s %10s %7s %8s\n", "operator (self time)", "ms/step", "share", "calls");
  for (int64_t i = 0; i < top && i < static_cast<int64_t>(rows.size()); ++i) {
    const auto& r = rows[i];
    std::printf("%-58.58s %10.2f %6.1f%% %8.1f\n", r.first.c_str(),
                r.second.first / 1e3 / static_cast<double>(steps),
                100.0 * r.second.first / std::max(total, 1e-9),
                static_cast<double>(r.second.second) / static_cast<double>(steps));
  }
  std::printf("%-58s %10.2f\n", "total of top-level ranges",
              total / 1e3 / static_cast<double>(steps));
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("qat_step_profile");
  // clang-format off
  options.add_options()
    ("help,h", "show this help")
    ("arch", po::value<std::string>()->default_value("experiments/archs/proxy_default.json"), "frostnas.arch/1 file")
    ("threads", po::value<int64_t>()->default_value(2), "threads")
    ("batch-size", po::value<int64_t>()->default_value(128), "training batch")
    ("warmup-steps", po::value<int64_t>()->default_value(2), "untimed steps per variant")
    ("steps", po::value<int64_t>()->default_value(10), "timed steps per variant")
    ("optimizer", po::value<std::string>()->default_value("sgd"), "comma-separated optimizer names, one variant each")
    ("channels-last", po::bool_switch()->default_value(false), "also time each optimizer with the Conv-BN layers in channels-last format")
    ("boost-kernel", po::value<std::string>()->default_value("fused"), "comma-separated GradBoost kernels (fused, reference), one variant each")
    ("precision", po::value<std::string>()->default_value("qat"), "comma-separated: qat (fake quantization on), fp32 (the same network in float); one variant each")
    ("ops", po::value<int64_t>()->default_value(0), "print the N operators with the largest self time (every variant)");
  // clang-format on
  po::variables_map vm;
  if (!frostnas::bench::parse_args(argc, argv, options, vm)) return 0;
  const NetSpec spec = load_arch(vm["arch"].as<std::string>());
  const int64_t batch = vm["batch-size"].as<int64_t>();
  const int64_t steps = vm["steps"].as<int64_t>();
  configure_runtime(vm["threads"].as<int64_t>());

  std::vector<Variant> variants;
  for (const auto& precision : split_commas(vm["precision"].as<std::string>())) {
    if (precision != "qat" && precision != "fp32") {
      std::fprintf(
          stderr, "qat_step_profile: error: --precision: unknown value '%s' (allowed: qat, fp32)\n",
          precision.c_str());
      return 2;
    }
    for (const auto& name : split_commas(vm["optimizer"].as<std::string>())) {
      for (const auto& kernel : split_commas(vm["boost-kernel"].as<std::string>())) {
        for (bool cl : {false, true}) {
          if (cl && !vm["channels-last"].as<bool>()) continue;
          Variant v;
          v.name = precision + " " + name + (cl ? " nhwc " : " nchw ") + kernel;
          v.optimizer = name;
          v.channels_last = cl;
          v.kernel = kernel == "reference" ? BoostKernel::kReference : BoostKernel::kFused;
          v.fake_quant = precision == "qat";
          setup(v, spec, batch);
          variants.push_back(std::move(v));
        }
      }
    }
  }
  for (auto& v : variants) {
    for (int64_t i = 0; i < vm["warmup-steps"].as<int64_t>(); ++i) run_step(v, false);
  }
  for (int64_t i = 0; i < steps; ++i) {
    for (auto& v : variants) run_step(v, true);
  }
  std::printf("%lld threads, batch %lld, %lld interleaved steps per variant\n",
              static_cast<long long>(torch::get_num_threads()), static_cast<long long>(batch),
              static_cast<long long>(steps));
  std::printf("%-26s %11s %11s %11s %11s %9s\n", "variant", "forward ms", "backward ms", "optim ms",
              "step ms", "img/s");
  for (const auto& v : variants) {
    const double n = static_cast<double>(v.steps);
    const double total = (v.forward_ms + v.backward_ms + v.step_ms) / n;
    std::printf("%-26s %11.1f %11.1f %11.2f %11.1f %9.1f\n", v.name.c_str(), v.forward_ms / n,
                v.backward_ms / n, v.step_ms / n, total, 1e3 * static_cast<double>(batch) / total);
  }
  const int64_t top = vm["ops"].as<int64_t>();
  for (auto& v : variants) {
    if (top <= 0) break;
    namespace prof = torch::autograd::profiler;
    std::printf("\n%s:\n", v.name.c_str());
    prof::enableProfilerLegacy(
        torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    const int64_t n = std::max<int64_t>(1, steps / 2);
    for (int64_t i = 0; i < n; ++i) run_step(v, false);
    print_top_ops(prof::disableProfilerLegacy(), n, top);
  }
  return 0;
}
