#pragma once

#include <vector>

namespace frostnas {

/// A point of the accuracy / latency plane.
struct ParetoPoint {
  double accuracy = 0.0;  ///< higher is better
  double latency = 0.0;   ///< lower is better
};

/// Indices of the non-dominated points (no other point is at least as accurate
/// and at least as fast, and strictly better in one), ordered by latency.
/// Exact duplicates keep the first.
std::vector<size_t> pareto_front(const std::vector<ParetoPoint>& points);

}  // namespace frostnas
