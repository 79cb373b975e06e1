#include "search/latency/lut_validation.h"

#include <algorithm>
#include <initializer_list>

#include "common/error.h"
#include "search/latency/lut_measurer.h"

namespace frostnas {

namespace {

/// The samples and calibration networks in one order, calibration spread evenly; `slot`
/// >= 0 is a sample index, < 0 is -1 - a calibration index.
std::vector<NetSpec> interleave(const LutValidationPlan& plan, std::vector<int64_t>& slot) {
  const auto& nets = plan.samples;
  const auto& cal = plan.calibration;
  std::vector<NetSpec> all;
  for (size_t i = 0, j = 0; i < nets.size() || j < cal.size();) {
    const bool take_sample =
        j >= cal.size() || (i < nets.size() && i * cal.size() <= j * nets.size());
    if (take_sample) {
      slot.push_back(static_cast<int64_t>(i));
      all.push_back(nets[i++]);
    } else {
      slot.push_back(-1 - static_cast<int64_t>(j));
      all.push_back(cal[j++]);
    }
  }
  return all;
}

}  // namespace

LutValidationPlan plan_lut_validation(const LatencyTable& table, const SearchSpace& space,
                                      const LutValidationOptions& options, const std::string& db) {
  LutValidationPlan plan;
  for (int64_t i = 0; i < options.samples; ++i)
    plan.samples.push_back(sample(space, options.seed + i));
  int64_t recalibrate = options.recalibrate;
  if (recalibrate < 0) {
    recalibrate = std::min(table.correction(Precision::kInt8, options.weight_quant).networks,
                           table.correction(Precision::kFP32, options.weight_quant).networks);
  }
  if (!options.corrected) recalibrate = 0;
  plan.calibration = calibration_networks(space, recalibrate, kCalibrationSeed);
  auto shared = std::shared_ptr<const LatencyTable>(&table, [](const LatencyTable*) {});
  const TableLatencyModel m8(shared, Precision::kInt8, true, options.weight_quant);
  const TableLatencyModel m32(shared, Precision::kFP32, true, options.weight_quant);
  for (const auto* list : {&plan.samples, &plan.calibration}) {
    for (const auto& n : *list) {
      for (const auto* m : {&m8, &m32}) {
        const auto missing = m->missing_keys(n);
        if (!missing.empty()) {
          throw InputError(db + ": the table lacks " + to_string(m->precision()) + " entry " +
                           missing.front() + " (run frostnas lut build for this space)");
        }
      }
    }
  }
  return plan;
}

LutValidationReport run_lut_validation(std::shared_ptr<const LatencyTable> table,
                                       const LutValidationPlan& plan,
                                       const LutValidationOptions& options,
                                       const std::function<void(size_t, size_t)>& progress) {
  std::vector<int64_t> slot;
  const std::vector<NetSpec> all = interleave(plan, slot);
  const auto timed = measure_networks(
      all, options.engine, options.timing, static_cast<uint64_t>(options.seed), options.group,
      [&](size_t done) {
        if (progress) progress(done, all.size());
      },
      options.weight_quant);
  std::vector<NetTiming> measured(plan.samples.size()), cal_measured(plan.calibration.size());
  for (size_t k = 0; k < all.size(); ++k) {
    if (slot[k] >= 0) {
      measured[static_cast<size_t>(slot[k])] = timed[k];
    } else {
      cal_measured[static_cast<size_t>(-1 - slot[k])] = timed[k];
    }
  }
  LutValidationReport report;
  report.calibration_networks = plan.calibration.size();
  if (!plan.calibration.empty()) {
    report.refit_int8 = fit_correction(calibration_points(
        *table, Precision::kInt8, plan.calibration, cal_measured, options.weight_quant));
    report.refit_fp32 = fit_correction(calibration_points(
        *table, Precision::kFP32, plan.calibration, cal_measured, options.weight_quant));
  }
  const TableLatencyModel m8(table, Precision::kInt8, options.corrected, options.weight_quant);
  const TableLatencyModel m32(table, Precision::kFP32, options.corrected, options.weight_quant);
  std::vector<double> s8, s32, p8, q8, p32, q32;
  for (size_t i = 0; i < plan.samples.size(); ++i) {
    const NetSpec& net = plan.samples[i];
    ValidatedNet v;
    v.seed = options.seed + static_cast<int64_t>(i);
    v.hash = arch_hash(net);
    v.blocks = static_cast<int64_t>(net.num_blocks());
    v.int8_predicted_stored_ms = m8.predict_ms(net);
    v.fp32_predicted_stored_ms = m32.predict_ms(net);
    v.int8_predicted_ms = report.refit_int8 ? report.refit_int8->apply(m8.sum_ms(net), v.blocks)
                                            : v.int8_predicted_stored_ms;
    v.fp32_predicted_ms = report.refit_fp32 ? report.refit_fp32->apply(m32.sum_ms(net), v.blocks)
                                            : v.fp32_predicted_stored_ms;
    v.int8_measured_ms = measured[i].int8.median_ms;
    v.int8_spread_ms = measured[i].int8.spread_ms;
    v.fp32_measured_ms = measured[i].fp32.median_ms;
    v.fp32_spread_ms = measured[i].fp32.spread_ms;
    s8.push_back(v.int8_predicted_stored_ms);
    s32.push_back(v.fp32_predicted_stored_ms);
    p8.push_back(v.int8_predicted_ms);
    p32.push_back(v.fp32_predicted_ms);
    q8.push_back(v.int8_measured_ms);
    q32.push_back(v.fp32_measured_ms);
    report.nets.push_back(v);
  }
  report.int8 = error_stats(p8, q8);
  report.fp32 = error_stats(p32, q32);
  report.int8_stored = error_stats(s8, q8);
  report.fp32_stored = error_stats(s32, q32);
  return report;
}

}  // namespace frostnas
