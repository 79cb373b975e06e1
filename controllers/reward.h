#pragma once

#include <string>

#include <torch/arg.h>

namespace frostnas {

/// The MnasNet objective ACC * (LAT / T)^w with w = alpha when LAT <= T, else beta.
struct RewardOptions {
  /// Soft constraint: alpha = beta = -0.07.
  static RewardOptions soft(double target_ms);
  /// Hard constraint: alpha = 0, beta = -1.
  static RewardOptions hard(double target_ms);
  /// "soft" or "hard"; throws InputError listing both.
  static RewardOptions named(const std::string& name, double target_ms);

  TORCH_ARG(double, target_ms) = 1.0;  ///< T
  TORCH_ARG(double, alpha) = -0.07;
  TORCH_ARG(double, beta) = -0.07;
};

/// ACC * (LAT / T)^w. `accuracy` in [0, 1] (or percent: the scale carries through).
double mnas_reward(double accuracy, double latency_ms, const RewardOptions& options);

}  // namespace frostnas
