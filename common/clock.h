#pragma once

#include <chrono>

namespace frostnas {

/// The clock of every wall-time measurement (durations, budgets, throughput).
using SteadyClock = std::chrono::steady_clock;

/// Seconds elapsed since `start`.
inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace frostnas
