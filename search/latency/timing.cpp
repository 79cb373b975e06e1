#include "search/latency/timing.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

#include <torch/torch.h>
#include <torch/version.h>

#include "common/threads.h"
#include "search/store/schema.h"

namespace frostnas {

namespace {

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Timing summarize(std::vector<double> samples_ms) {
  if (samples_ms.empty()) throw std::invalid_argument("summarize: no samples");
  std::sort(samples_ms.begin(), samples_ms.end());
  Timing t;
  t.median_ms = quantile(samples_ms, 0.5);
  t.spread_ms = quantile(samples_ms, 0.75) - quantile(samples_ms, 0.25);
  t.samples = static_cast<int64_t>(samples_ms.size());
  return t;
}

std::vector<Timing> time_interleaved(const std::vector<std::function<void()>>& fns,
                                     const TimingOptions& options) {
  const size_t n = fns.size();
  std::vector<int64_t> repeats(n, 1);
  for (size_t i = 0; i < n; ++i) {
    double best = 1e300;
    for (int64_t w = 0; w < std::max<int64_t>(1, options.warmup); ++w) {
      const double t0 = now_ms();
      fns[i]();
      best = std::min(best, now_ms() - t0);
    }
    if (best > 0 && best < options.min_sample_ms) {
      repeats[i] =
          std::clamp<int64_t>(static_cast<int64_t>(std::ceil(options.min_sample_ms / best)), 1,
                              std::max<int64_t>(1, options.max_repeats));
    }
  }
  std::vector<std::vector<double>> samples(n);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(options.seed);
  for (int64_t r = 0; r < std::max<int64_t>(1, options.rounds); ++r) {
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (size_t i : order) {
      const double t0 = now_ms();
      for (int64_t k = 0; k < repeats[i]; ++k) fns[i]();
      samples[i].push_back((now_ms() - t0) / static_cast<double>(repeats[i]));
    }
  }
  std::vector<Timing> out;
  out.reserve(n);
  for (auto& s : samples) out.push_back(summarize(std::move(s)));
  return out;
}

void apply_thread_settings(int64_t threads) { set_threads(threads); }

std::vector<std::pair<std::string, std::string>> thread_env(int64_t threads, QuantEngine engine) {
  std::vector<std::pair<std::string, std::string>> env{
      {"OPENBLAS_NUM_THREADS", std::to_string(threads)}};
  if (engine == QuantEngine::kQNNPACK && threads > 1) env.push_back({"GOMP_SPINCOUNT", "10000"});
  return env;
}

void reexec_with_thread_env(const std::vector<std::string>& argv, int64_t threads,
                            QuantEngine engine) {
  bool missing = false;
  for (const auto& [name, value] : thread_env(threads, engine)) {
    const char* have = std::getenv(name.c_str());
    if (!have || value != have) {
      missing = true;
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  if (!missing || std::getenv("FROSTNAS_THREAD_ENV")) return;
  ::setenv("FROSTNAS_THREAD_ENV", "1", 1);
  std::vector<char*> args;
  std::string exe = "/proc/self/exe";
  args.push_back(exe.data());
  std::vector<std::string> copy(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  std::cout.flush();
  ::execv(exe.c_str(), args.data());
  std::cerr << "frostnas: warning: could not restart with the thread environment; "
               "OPENBLAS_NUM_THREADS / GOMP_SPINCOUNT may not take effect\n";
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) break;
      auto v = line.substr(colon + 1);
      const auto b = v.find_first_not_of(" \t");
      return b == std::string::npos ? "unknown" : v.substr(b);
    }
  }
  return "unknown";
}

Fingerprint machine_fingerprint(QuantEngine engine, int64_t threads) {
  Fingerprint fp;
  fp.cpu_model = cpu_model_name();
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  fp.cores = online > 0 ? online : static_cast<int64_t>(std::thread::hardware_concurrency());
  fp.engine = to_string(engine);
  fp.threads = threads;
  fp.torch_version = TORCH_VERSION;
  fp.text = "latency-table v" + std::to_string(kLatencyTableVersion);
  return fp;
}

}  // namespace frostnas
