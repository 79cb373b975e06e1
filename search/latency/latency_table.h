#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "search/latency/latency_key.h"
#include "search/latency/lut_measurer.h"
#include "search/store/store.h"
#include "space/search_space.h"

namespace frostnas {

/// The part of end-to-end latency the sum of table entries misses, as a linear
/// correction: measured ~ scale * sum + per_block_ms * blocks + offset_ms. Fitted on a
/// few measured networks of the space and stored with the table (keys "calib:*").
struct LinearCorrection {
  double scale = 1.0;
  double per_block_ms = 0.0;
  double offset_ms = 0.0;
  int64_t networks = 0;  ///< networks it was fitted on; 0 = identity (not calibrated)

  double apply(double sum_ms, int64_t blocks) const {
    return scale * sum_ms + per_block_ms * static_cast<double>(blocks) + offset_ms;
  }
};

/// One calibration network: the sum of its table entries, its block count and its
/// measured end-to-end latency.
struct CalibrationPoint {
  double sum_ms = 0.0;
  int64_t blocks = 0;
  double measured_ms = 0.0;
};

/// Least squares on relative errors, ((apply(sum, blocks) - measured) / measured)^2,
/// with a ridge of weight `ridge` pulling towards the identity (scale 1, no
/// per-block or offset term), each term normalised by the mean measured latency so
/// that the ridge is unit-free. Needs at least one point (throws
/// std::invalid_argument otherwise); `networks` of the result = points.size().
LinearCorrection fit_correction(const std::vector<CalibrationPoint>& points, double ridge = 0.01);

/// A latency lookup table in memory: (key, precision) -> entry, plus the fitted
/// correction of each precision.
class LatencyTable {
 public:
  /// Adds or replaces an entry.
  void set(const std::string& key, Precision precision, double median_ms, double spread_ms = 0.0,
           int64_t samples = 0);
  std::optional<LatencyEntry> find(const std::string& key, Precision precision) const;
  bool contains(const std::string& key, Precision precision) const;
  /// The median of an entry; throws InputError naming the key when it is missing.
  double ms(const std::string& key, Precision precision) const;
  /// Measured rows, one per (key, precision); the "calib:*" rows excluded.
  size_t size() const;
  /// Every row, including the correction, keyed by (key, precision name).
  const std::map<std::pair<std::string, std::string>, LatencyEntry>& entries() const {
    return entries_;
  }

  /// The correction of a precision and weight scheme (identity when not calibrated).
  LinearCorrection correction(Precision precision,
                              WeightQuant weights = WeightQuant::kPerChannel) const;
  void set_correction(Precision precision, const LinearCorrection& correction,
                      WeightQuant weights = WeightQuant::kPerChannel);

 private:
  std::map<std::pair<std::string, std::string>, LatencyEntry> entries_;
};

/// The calibration points of `nets` (measured end to end as `measured`, same order)
/// against the raw table sums of `table` in `precision` (entries of `weights`). Throws
/// InputError when an entry is missing, std::invalid_argument when the sizes differ.
std::vector<CalibrationPoint> calibration_points(const LatencyTable& table, Precision precision,
                                                 const std::vector<NetSpec>& nets,
                                                 const std::vector<NetTiming>& measured,
                                                 WeightQuant weights = WeightQuant::kPerChannel);

/// The rows of one fingerprint (current kLatencyTableVersion) and back.
LatencyTable load_latency_table(const Store& store, int64_t fingerprint_id);
void save_latency_table(Store& store, int64_t fingerprint_id, const LatencyTable& table);

/// The stored fingerprint equal to `fp` (id ignored), if any.
std::optional<Fingerprint> find_fingerprint(const Store& store, const Fingerprint& fp);

/// Measures the networks given (end-to-end INT8 and FP32); see measure_networks.
using NetMeasureFn = std::function<std::vector<NetTiming>(const std::vector<NetSpec>&)>;

/// Sample seed of the first calibration network (`lut build` and `lut validate`).
constexpr uint64_t kCalibrationSeed = 1000000;

struct LutBuildOptions {
  bool force = false;                            ///< re-measure entries that exist
  size_t chunk = 16;                             ///< items measured (interleaved) per store write
  int64_t calibration_networks = 20;             ///< sampled networks for the correction; 0 = none
  uint64_t calibration_seed = kCalibrationSeed;  ///< first sample seed of the calibration nets
  /// The weight scheme of the entries (and of the networks `measure_nets` must build).
  WeightQuant weight_quant = WeightQuant::kPerChannel;
};

struct LutBuildReport {
  int64_t fingerprint_id = 0;
  size_t items = 0;         ///< table items of the space
  size_t measured = 0;      ///< items measured now
  size_t reused = 0;        ///< items found in the store
  bool calibrated = false;  ///< the correction was fitted now
  LinearCorrection int8, fp32;
  double seconds = 0.0;
};

/// Builds the table of `space` for the fingerprint `fp` and options.weight_quant
/// (lut_items(space, weight_quant); `measurer` must build weights so) incrementally: items whose
/// INT8 and FP32 entries both exist are reused unless `force`; the others are measured
/// by `measurer` in chunks, each chunk written to the store at once (an interrupted
/// build keeps its progress). When anything is to be measured, `force` is set or no
/// correction is stored, `calibration_networks` networks sampled from the space are
/// first measured end to end with `measure_nets` (skipped when empty), and after the
/// table the corrections are fitted on them and stored. `progress(done, total)` is
/// called before the first and after each chunk.
LutBuildReport build_latency_table(Store& store, const Fingerprint& fp, const SearchSpace& space,
                                   LutMeasurer& measurer, const NetMeasureFn& measure_nets,
                                   const LutBuildOptions& options,
                                   const std::function<void(size_t, size_t)>& progress = {});

/// A stored table of this machine.
struct MachineTable {
  Fingerprint fingerprint;
  std::shared_ptr<const LatencyTable> table;
};
/// Opens the existing database `db` (InputError "<db>: no such file" when missing) and
/// loads the table of machine_fingerprint(engine, threads); throws InputError when the
/// database has none (naming the fingerprint and `frostnas lut build`).
MachineTable open_machine_table(const std::string& db, QuantEngine engine, int64_t threads);

/// The calibration networks of a space: `n` samples with seeds seed, seed + 1, ...
std::vector<NetSpec> calibration_networks(const SearchSpace& space, int64_t n, uint64_t seed);

}  // namespace frostnas
