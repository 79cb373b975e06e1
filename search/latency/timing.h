#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/store/records.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// A latency measurement: the median of the per-call times of several rounds and
/// their interquartile range.
struct Timing {
  double median_ms = 0.0;
  double spread_ms = 0.0;  ///< interquartile range
  int64_t samples = 0;     ///< rounds
};

/// Median and interquartile range (linear interpolation) of per-call times.
/// Throws std::invalid_argument when `samples_ms` is empty.
Timing summarize(std::vector<double> samples_ms);

/// How functions are timed.
struct TimingOptions {
  int64_t warmup = 3;   ///< untimed calls of each function first
  int64_t rounds = 15;  ///< timed rounds; one sample per function per round
  /// A sample repeats a fast call until it lasts this long. 0 (default): one call per
  /// sample, so that every call finds the caches as the other items left them, as a
  /// block does inside a network (tight repeats made blocks about 35% faster).
  double min_sample_ms = 0.0;
  int64_t max_repeats = 64;  ///< at most this many calls per sample
  uint64_t seed = 0;         ///< order of the functions within each round
};

/// Times `fns` interleaved: after the warm-up, every round calls each function (in
/// an order shuffled per round, seeded) for one sample, so drift of the machine's
/// speed hits all alike. Returns one Timing per function (per-call milliseconds).
std::vector<Timing> time_interleaved(const std::vector<std::function<void()>>& fns,
                                     const TimingOptions& options);

/// Thread settings of a measurement. torch::set_num_threads(threads) is applied in
/// process; OPENBLAS_NUM_THREADS and, for QNNPACK on several threads, GOMP_SPINCOUNT
/// (docs/frostnet.md, "LibTorch runtime notes") are read by the libraries at load time, so
/// they must be in the environment before the process starts: see `reexec_with_thread_env`.
void apply_thread_settings(int64_t threads);

/// The environment variables a measurement with `threads` on `engine` needs:
/// OPENBLAS_NUM_THREADS=threads, and GOMP_SPINCOUNT=10000 when engine is QNNPACK and
/// threads > 1.
std::vector<std::pair<std::string, std::string>> thread_env(int64_t threads, QuantEngine engine);

/// When the environment lacks `thread_env(threads, engine)`, sets it and replaces the
/// process by `/proc/self/exe argv[1..]` (once: FROSTNAS_THREAD_ENV marks the
/// restarted process). Returns normally when nothing is missing or exec failed
/// (then it prints a warning to stderr).
void reexec_with_thread_env(const std::vector<std::string>& argv, int64_t threads,
                            QuantEngine engine);

/// This machine as the store's fingerprint: CPU model (/proc/cpuinfo "model name"),
/// online cores, the engine name, the thread count, the LibTorch version and
/// `text` = "latency-table v<kLatencyTableVersion>".
Fingerprint machine_fingerprint(QuantEngine engine, int64_t threads);

/// The first "model name" of /proc/cpuinfo, or "unknown".
std::string cpu_model_name();

}  // namespace frostnas
