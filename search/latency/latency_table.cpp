#include "search/latency/latency_table.h"

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "common/clock.h"
#include "common/error.h"
#include "search/latency/timing.h"
#include "space/resolved_net.h"

namespace frostnas {

namespace {

const char* kCalScale = "scale";
const char* kCalPerBlock = "per_block_ms";
const char* kCalOffset = "offset_ms";

// Solves the 3x3 system m x = v by Gaussian elimination with partial pivoting.
std::array<double, 3> solve3(std::array<std::array<double, 3>, 3> m, std::array<double, 3> v) {
  for (int c = 0; c < 3; ++c) {
    int p = c;
    for (int r = c + 1; r < 3; ++r)
      if (std::abs(m[r][c]) > std::abs(m[p][c])) p = r;
    std::swap(m[c], m[p]);
    std::swap(v[c], v[p]);
    if (std::abs(m[c][c]) < 1e-300) throw std::invalid_argument("fit_correction: singular system");
    for (int r = c + 1; r < 3; ++r) {
      const double f = m[r][c] / m[c][c];
      for (int k = c; k < 3; ++k) m[r][k] -= f * m[c][k];
      v[r] -= f * v[c];
    }
  }
  std::array<double, 3> x{};
  for (int c = 2; c >= 0; --c) {
    double s = v[c];
    for (int k = c + 1; k < 3; ++k) s -= m[c][k] * x[k];
    x[c] = s / m[c][c];
  }
  return x;
}

}  // namespace

LinearCorrection fit_correction(const std::vector<CalibrationPoint>& points, double ridge) {
  if (points.empty()) throw std::invalid_argument("fit_correction: no calibration points");
  double mean_y = 0.0, mean_n = 0.0;
  for (const auto& p : points) {
    if (!(p.measured_ms > 0.0))
      throw std::invalid_argument("fit_correction: measured latency must be positive");
    mean_y += p.measured_ms;
    mean_n += static_cast<double>(p.blocks);
  }
  mean_y /= static_cast<double>(points.size());
  mean_n = std::max(1.0, mean_n / static_cast<double>(points.size()));
  // Rows f_i = (s, n, 1) / y_i with target 1; ridge towards (1, 0, 0) on the unit-free
  // parameters (a, b * n / y, c / y).
  std::array<std::array<double, 3>, 3> m{};
  std::array<double, 3> v{};
  for (const auto& p : points) {
    const std::array<double, 3> f{p.sum_ms / p.measured_ms,
                                  static_cast<double>(p.blocks) / p.measured_ms,
                                  1.0 / p.measured_ms};
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) m[r][c] += f[r] * f[c];
      v[r] += f[r];
    }
  }
  const double lambda = ridge * static_cast<double>(points.size());
  const std::array<double, 3> d{1.0, (mean_n / mean_y) * (mean_n / mean_y),
                                1.0 / (mean_y * mean_y)};
  for (int r = 0; r < 3; ++r) m[r][r] += lambda * d[r];
  v[0] += lambda * d[0] * 1.0;
  const auto x = solve3(m, v);
  LinearCorrection c;
  c.scale = x[0];
  c.per_block_ms = x[1];
  c.offset_ms = x[2];
  c.networks = static_cast<int64_t>(points.size());
  return c;
}

void LatencyTable::set(const std::string& key, Precision precision, double median_ms,
                       double spread_ms, int64_t samples) {
  LatencyEntry e;
  e.key = key;
  e.precision = to_string(precision);
  e.median_ms = median_ms;
  e.spread_ms = spread_ms;
  e.samples = samples;
  entries_[{key, e.precision}] = e;
}

std::optional<LatencyEntry> LatencyTable::find(const std::string& key, Precision precision) const {
  auto it = entries_.find({key, to_string(precision)});
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

bool LatencyTable::contains(const std::string& key, Precision precision) const {
  return entries_.count({key, to_string(precision)}) > 0;
}

double LatencyTable::ms(const std::string& key, Precision precision) const {
  auto it = entries_.find({key, to_string(precision)});
  if (it == entries_.end()) {
    throw InputError("latency table: no " + to_string(precision) + " entry for " + key +
                     " (run frostnas lut build for this space, engine and thread count)");
  }
  return it->second.median_ms;
}

size_t LatencyTable::size() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_)
    if (k.first.rfind("calib:", 0) != 0) ++n;
  return n;
}

LinearCorrection LatencyTable::correction(Precision precision, WeightQuant weights) const {
  LinearCorrection c;
  auto scale = find(calibration_lut_key(kCalScale, weights), precision);
  auto per_block = find(calibration_lut_key(kCalPerBlock, weights), precision);
  auto offset = find(calibration_lut_key(kCalOffset, weights), precision);
  if (!scale || !per_block || !offset) return c;
  c.scale = scale->median_ms;
  c.per_block_ms = per_block->median_ms;
  c.offset_ms = offset->median_ms;
  c.networks = scale->samples;
  return c;
}

void LatencyTable::set_correction(Precision precision, const LinearCorrection& c,
                                  WeightQuant weights) {
  set(calibration_lut_key(kCalScale, weights), precision, c.scale, 0.0, c.networks);
  set(calibration_lut_key(kCalPerBlock, weights), precision, c.per_block_ms, 0.0, c.networks);
  set(calibration_lut_key(kCalOffset, weights), precision, c.offset_ms, 0.0, c.networks);
}

std::vector<CalibrationPoint> calibration_points(const LatencyTable& table, Precision precision,
                                                 const std::vector<NetSpec>& nets,
                                                 const std::vector<NetTiming>& measured,
                                                 WeightQuant weights) {
  if (nets.size() != measured.size())
    throw std::invalid_argument("calibration_points: networks and timings differ in number");
  std::vector<CalibrationPoint> points;
  for (size_t i = 0; i < nets.size(); ++i) {
    const ResolvedNet r = resolve(nets[i]);
    double sum = 0.0;
    for (const auto& key : net_lut_keys(r, weights)) sum += table.ms(key, precision);
    const Timing& t = precision == Precision::kInt8 ? measured[i].int8 : measured[i].fp32;
    points.push_back({sum, static_cast<int64_t>(r.blocks.size()), t.median_ms});
  }
  return points;
}

LatencyTable load_latency_table(const Store& store, int64_t fingerprint_id) {
  LatencyTable t;
  for (const auto& e : store.list_latency(fingerprint_id)) {
    t.set(e.key, parse_precision(e.precision, store.path() + ": latency precision"), e.median_ms,
          e.spread_ms, e.samples);
  }
  return t;
}

void save_latency_table(Store& store, int64_t fingerprint_id, const LatencyTable& table) {
  std::vector<LatencyEntry> rows;
  for (const auto& [k, e] : table.entries()) {
    LatencyEntry r = e;
    r.fingerprint_id = fingerprint_id;
    rows.push_back(r);
  }
  store.put_latencies(rows);
}

std::optional<Fingerprint> find_fingerprint(const Store& store, const Fingerprint& fp) {
  for (const auto& f : store.list_fingerprints()) {
    if (f.cpu_model == fp.cpu_model && f.cores == fp.cores && f.engine == fp.engine &&
        f.threads == fp.threads && f.torch_version == fp.torch_version && f.text == fp.text) {
      return f;
    }
  }
  return std::nullopt;
}

MachineTable open_machine_table(const std::string& db, QuantEngine engine, int64_t threads) {
  if (!std::filesystem::is_regular_file(db)) throw InputError("--db: " + db + ": no such file");
  Store store(db);
  const Fingerprint want = machine_fingerprint(engine, threads);
  const auto fp = find_fingerprint(store, want);
  std::optional<LatencyTable> table;
  if (fp) table = load_latency_table(store, fp->id);
  if (!fp || table->size() == 0) {
    throw InputError(db + ": no latency table for this machine (" + want.cpu_model + ", " +
                     to_string(engine) + ", " + std::to_string(threads) +
                     " thread(s)); run frostnas lut build --db " + db);
  }
  return {*fp, std::make_shared<const LatencyTable>(std::move(*table))};
}

std::vector<NetSpec> calibration_networks(const SearchSpace& space, int64_t n, uint64_t seed) {
  std::vector<NetSpec> nets;
  for (int64_t i = 0; i < n; ++i) nets.push_back(sample(space, seed + static_cast<uint64_t>(i)));
  return nets;
}

LutBuildReport build_latency_table(Store& store, const Fingerprint& fp, const SearchSpace& space,
                                   LutMeasurer& measurer, const NetMeasureFn& measure_nets,
                                   const LutBuildOptions& options,
                                   const std::function<void(size_t, size_t)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  LutBuildReport report;
  report.fingerprint_id = store.upsert_fingerprint(fp);
  LatencyTable table = load_latency_table(store, report.fingerprint_id);
  const WeightQuant wq = options.weight_quant;
  const std::vector<LutItem> items = lut_items(space, wq);
  report.items = items.size();
  std::vector<LutItem> todo;
  for (const auto& item : items) {
    if (!options.force && table.contains(item.key, Precision::kInt8) &&
        table.contains(item.key, Precision::kFP32)) {
      ++report.reused;
    } else {
      todo.push_back(item);
    }
  }
  // The calibration networks are measured first, in a fresh process: after hundreds of
  // table items have been built and run, the same INT8 networks ran about 10% slower
  // than in a new process (allocator and oneDNN caches), which biased the correction.
  const bool have_correction = table.correction(Precision::kInt8, wq).networks > 0 &&
                               table.correction(Precision::kFP32, wq).networks > 0;
  const bool calibrate = measure_nets && options.calibration_networks > 0 &&
                         (!todo.empty() || options.force || !have_correction);
  std::vector<NetSpec> nets;
  std::vector<NetTiming> net_times;
  if (calibrate) {
    nets = calibration_networks(space, options.calibration_networks, options.calibration_seed);
    net_times = measure_nets(nets);
    if (net_times.size() != nets.size())
      throw std::logic_error("build_latency_table: wrong number of network timings");
  }

  if (progress) progress(0, todo.size());
  const size_t chunk = std::max<size_t>(1, options.chunk);
  for (size_t start = 0; start < todo.size(); start += chunk) {
    const std::vector<LutItem> part(todo.begin() + start,
                                    todo.begin() + std::min(todo.size(), start + chunk));
    const std::vector<ItemTiming> timings = measurer.measure(part);
    if (timings.size() != part.size())
      throw std::logic_error("build_latency_table: measurer returned a wrong number of timings");
    std::vector<LatencyEntry> rows;
    for (size_t i = 0; i < part.size(); ++i) {
      for (auto [p, t] : {std::pair{Precision::kInt8, timings[i].int8},
                          std::pair{Precision::kFP32, timings[i].fp32}}) {
        table.set(part[i].key, p, t.median_ms, t.spread_ms, t.samples);
        LatencyEntry e = *table.find(part[i].key, p);
        e.fingerprint_id = report.fingerprint_id;
        rows.push_back(e);
      }
    }
    store.put_latencies(rows);
    report.measured += part.size();
    if (progress) progress(report.measured, todo.size());
  }

  if (calibrate) {
    const auto pi8 = calibration_points(table, Precision::kInt8, nets, net_times, wq);
    const auto pf32 = calibration_points(table, Precision::kFP32, nets, net_times, wq);
    LatencyTable corr;
    corr.set_correction(Precision::kInt8, fit_correction(pi8), wq);
    corr.set_correction(Precision::kFP32, fit_correction(pf32), wq);
    save_latency_table(store, report.fingerprint_id, corr);
    table.set_correction(Precision::kInt8, corr.correction(Precision::kInt8, wq), wq);
    table.set_correction(Precision::kFP32, corr.correction(Precision::kFP32, wq), wq);
    report.calibrated = true;
  }
  report.int8 = table.correction(Precision::kInt8, wq);
  report.fp32 = table.correction(Precision::kFP32, wq);
  report.seconds = seconds_since(t0);
  return report;
}

}  // namespace frostnas
