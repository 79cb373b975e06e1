#pragma once

#include <memory>
#include <string>
#include <vector>

#include "search/latency/latency_key.h"
#include "search/latency/latency_table.h"
#include "space/net_spec.h"

namespace frostnas {

/// Predicts the batch-1 inference latency of an architecture in one precision.
class LatencyModel {
 public:
  virtual ~LatencyModel() = default;
  /// Milliseconds; throws InputError when the model cannot price `net`.
  virtual double predict_ms(const NetSpec& net) const = 0;
  virtual Precision precision() const = 0;
};

/// The lookup-table model: the sum of the entries of net_lut_keys(resolve(net), weights)
/// (stem, blocks, head, input quantize / output dequantize), passed through the table's
/// fitted LinearCorrection of the precision and weight scheme when `corrected`.
class TableLatencyModel : public LatencyModel {
 public:
  TableLatencyModel(std::shared_ptr<const LatencyTable> table, Precision precision,
                    bool corrected = true, WeightQuant weights = WeightQuant::kPerChannel);
  double predict_ms(const NetSpec& net) const override;
  Precision precision() const override { return precision_; }
  /// The raw sum of the entries (no correction).
  double sum_ms(const NetSpec& net) const;
  /// Keys of `net` the table lacks for this precision.
  std::vector<std::string> missing_keys(const NetSpec& net) const;
  const LatencyTable& table() const { return *table_; }

 private:
  std::shared_ptr<const LatencyTable> table_;
  Precision precision_;
  bool corrected_;
  WeightQuant weights_;
};

/// Prediction error over networks.
struct ErrorStats {
  size_t networks = 0;
  double mdape_pct = 0.0;        ///< median of |pred - meas| / meas, in percent
  double within_pct = 0.0;       ///< share of networks with |pred - meas| <= tolerance * meas
  double mean_signed_pct = 0.0;  ///< mean of (pred - meas) / meas, in percent (bias)
};
/// Throws std::invalid_argument on empty or mismatched vectors.
ErrorStats error_stats(const std::vector<double>& predicted, const std::vector<double>& measured,
                       double tolerance = 0.10);

}  // namespace frostnas
