#include "search/latency/latency_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "space/resolved_net.h"

namespace frostnas {

TableLatencyModel::TableLatencyModel(std::shared_ptr<const LatencyTable> table, Precision precision,
                                     bool corrected, WeightQuant weights)
    : table_(std::move(table)), precision_(precision), corrected_(corrected), weights_(weights) {
  if (!table_) throw std::invalid_argument("TableLatencyModel: null table");
}

double TableLatencyModel::sum_ms(const NetSpec& net) const {
  double s = 0.0;
  for (const auto& key : net_lut_keys(resolve(net), weights_)) s += table_->ms(key, precision_);
  return s;
}

double TableLatencyModel::predict_ms(const NetSpec& net) const {
  const double s = sum_ms(net);
  if (!corrected_) return s;
  return table_->correction(precision_, weights_).apply(s, static_cast<int64_t>(net.num_blocks()));
}

std::vector<std::string> TableLatencyModel::missing_keys(const NetSpec& net) const {
  std::vector<std::string> missing;
  for (const auto& key : net_lut_keys(resolve(net), weights_))
    if (!table_->contains(key, precision_)) missing.push_back(key);
  return missing;
}

ErrorStats error_stats(const std::vector<double>& predicted, const std::vector<double>& measured,
                       double tolerance) {
  if (predicted.empty() || predicted.size() != measured.size())
    throw std::invalid_argument("error_stats: empty or mismatched vectors");
  std::vector<double> abs_err;
  ErrorStats s;
  s.networks = predicted.size();
  size_t within = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const double rel = (predicted[i] - measured[i]) / measured[i];
    abs_err.push_back(std::abs(rel));
    s.mean_signed_pct += 100.0 * rel;
    if (std::abs(rel) <= tolerance + 1e-12) ++within;
  }
  s.mean_signed_pct /= static_cast<double>(predicted.size());
  std::sort(abs_err.begin(), abs_err.end());
  const size_t n = abs_err.size();
  const double median = n % 2 ? abs_err[n / 2] : 0.5 * (abs_err[n / 2 - 1] + abs_err[n / 2]);
  s.mdape_pct = 100.0 * median;
  s.within_pct = 100.0 * static_cast<double>(within) / static_cast<double>(n);
  return s;
}

}  // namespace frostnas
