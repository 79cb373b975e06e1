#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "search/latency/latency_model.h"
#include "search/latency/latency_table.h"
#include "search/latency/timing.h"
#include "space/search_space.h"
#include "trainer/quant/quant_engine.h"

namespace frostnas {

/// Networks timed interleaved per group by default. Smaller groups (10, as the table's
/// calibration) let the machine's speed drift between groups: on an idle machine the
/// networks of one group came out 10-13 % slower than the rest (docs/results.md,
/// "Latency table accuracy").
constexpr int64_t kValidateGroup = 50;

/// How `lut validate` checks a latency table against whole networks.
struct LutValidationOptions {
  int64_t samples = 30;  ///< networks sampled from the space, seeds seed .. seed + samples - 1
  int64_t seed = 0;
  int64_t group = kValidateGroup;
  /// Calibration networks re-measured among the samples to re-fit the correction to the
  /// machine's present state; -1: as many as the table was fitted on; 0: stored only.
  int64_t recalibrate = -1;
  bool corrected = true;  ///< false: predict with the raw sum of the entries
  QuantEngine engine = QuantEngine::kOneDNN;
  /// The weight scheme of the networks measured and of the table entries used.
  WeightQuant weight_quant = WeightQuant::kPerChannel;
  TimingOptions timing;
};

/// The networks a validation times, checked against the table before any timing.
struct LutValidationPlan {
  std::vector<NetSpec> samples;
  std::vector<NetSpec> calibration;  ///< re-measured to re-fit the correction
};

/// Samples the networks and the calibration networks of `options`; throws InputError
/// naming `db` and the first entry the table lacks for one of them.
LutValidationPlan plan_lut_validation(const LatencyTable& table, const SearchSpace& space,
                                      const LutValidationOptions& options, const std::string& db);

/// One sampled network: predictions (re-fitted and stored correction) and measurements.
struct ValidatedNet {
  int64_t seed = 0;
  std::string hash;
  int64_t blocks = 0;
  double int8_predicted_ms = 0, int8_predicted_stored_ms = 0, int8_measured_ms = 0,
         int8_spread_ms = 0;
  double fp32_predicted_ms = 0, fp32_predicted_stored_ms = 0, fp32_measured_ms = 0,
         fp32_spread_ms = 0;
};

/// What a validation found.
struct LutValidationReport {
  std::vector<ValidatedNet> nets;
  ErrorStats int8, fp32;                ///< of the predictions used (re-fitted when any)
  ErrorStats int8_stored, fp32_stored;  ///< with the table's stored correction
  /// The corrections re-fitted on the calibration networks of this run (none without).
  std::optional<LinearCorrection> refit_int8, refit_fp32;
  size_t calibration_networks = 0;
};

/// Times the plan's samples and calibration networks in the same interleaved groups
/// (spread evenly, so that the re-fitted correction sees the machine as the samples do),
/// re-fits the correction on the calibration networks only and compares predictions with
/// measurements. `progress(done, total)` after each group. Thread settings are the
/// caller's (apply_thread_settings before, in a process started with them).
LutValidationReport run_lut_validation(std::shared_ptr<const LatencyTable> table,
                                       const LutValidationPlan& plan,
                                       const LutValidationOptions& options,
                                       const std::function<void(size_t, size_t)>& progress = {});

}  // namespace frostnas
