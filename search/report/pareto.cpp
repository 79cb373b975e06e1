#include "search/report/pareto.h"

#include <algorithm>
#include <numeric>

namespace frostnas {

std::vector<size_t> pareto_front(const std::vector<ParetoPoint>& points) {
  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  // Fastest first; among equally fast, the most accurate (then the earliest) first.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (points[a].latency != points[b].latency) return points[a].latency < points[b].latency;
    return points[a].accuracy > points[b].accuracy;
  });
  std::vector<size_t> front;
  for (size_t i : order) {
    // A point joins when it is strictly more accurate than every faster one.
    if (front.empty() || points[i].accuracy > points[front.back()].accuracy) front.push_back(i);
  }
  return front;
}

}  // namespace frostnas
