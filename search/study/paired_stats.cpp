#include "search/study/paired_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>

namespace frostnas {

namespace {

void check_finite(const std::vector<double>& values, const char* what) {
  for (double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument(std::string(what) + ": a non-finite value");
  }
}

}  // namespace

SampleSummary summarize(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("summarize: an empty sample");
  check_finite(values, "summarize");
  SampleSummary s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(s.n);
  if (s.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

double sign_flip_p(const std::vector<double>& differences) {
  const int64_t n = static_cast<int64_t>(differences.size());
  if (n < 1 || n > kMaxExactPairs)
    throw std::invalid_argument("sign_flip_p: " + std::to_string(n) + " pairs (allowed: 1.." +
                                std::to_string(kMaxExactPairs) + ")");
  check_finite(differences, "sign_flip_p");
  const double observed = std::abs(std::accumulate(differences.begin(), differences.end(), 0.0));
  double scale = 0;
  for (double d : differences) scale = std::max(scale, std::abs(d));
  if (scale == 0) return 1.0;
  // Sums that differ from the observed one only by rounding count as reaching it.
  const double tolerance = 1e-9 * scale * static_cast<double>(n);
  const uint64_t patterns = uint64_t{1} << n;
  uint64_t reaching = 0;
  for (uint64_t mask = 0; mask < patterns; ++mask) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += (mask >> i & 1) ? -differences[i] : differences[i];
    if (std::abs(sum) >= observed - tolerance) ++reaching;
  }
  return static_cast<double>(reaching) / static_cast<double>(patterns);
}

PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                double level) {
  if (a.size() != b.size())
    throw std::invalid_argument("compare_paired: " + std::to_string(a.size()) + " and " +
                                std::to_string(b.size()) + " values (pairs need equal counts)");
  if (a.size() < 2) throw std::invalid_argument("compare_paired: at least 2 pairs are needed");
  if (!(level > 0 && level < 1)) throw std::invalid_argument("compare_paired: level not in (0, 1)");
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  const SampleSummary s = summarize(d);
  PairedComparison c;
  c.n = s.n;
  c.mean_diff = s.mean;
  c.sd_diff = s.sd;
  c.level = level;
  const boost::math::students_t dist(static_cast<double>(s.n - 1));
  const double se = s.sd / std::sqrt(static_cast<double>(s.n));
  const double q = boost::math::quantile(dist, 0.5 + level / 2);
  c.ci_low = s.mean - q * se;
  c.ci_high = s.mean + q * se;
  if (se > 0) {
    c.t = s.mean / se;
    c.t_p = 2 * boost::math::cdf(boost::math::complement(dist, std::abs(c.t)));
  } else {
    c.t = s.mean == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), s.mean);
    c.t_p = s.mean == 0 ? 1.0 : 0.0;
  }
  c.sign_flip_p = sign_flip_p(d);
  return c;
}

std::vector<double> holm_adjust(const std::vector<double>& p_values) {
  const size_t m = p_values.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return p_values[i] < p_values[j]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (size_t rank = 0; rank < m; ++rank) {
    const double p = p_values[order[rank]];
    if (!(p >= 0 && p <= 1)) throw std::invalid_argument("holm_adjust: a p-value outside [0, 1]");
    running = std::max(running, std::min(1.0, static_cast<double>(m - rank) * p));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

std::string to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kReproduced:
      return "reproduced";
    case Verdict::kNotReproduced:
      return "not reproduced";
    case Verdict::kInconclusive:
      break;
  }
  return "inconclusive";
}

Verdict judge(const PairedComparison& c, double adjusted_p, double alpha, double margin,
              double min_effect) {
  if (adjusted_p < alpha && c.ci_low > 0 && c.mean_diff >= min_effect) return Verdict::kReproduced;
  if (c.ci_low > -margin && c.ci_high < margin) return Verdict::kNotReproduced;
  return Verdict::kInconclusive;
}

int64_t count_same_sign(const std::vector<double>& differences) {
  if (differences.empty()) return 0;
  const double mean = std::accumulate(differences.begin(), differences.end(), 0.0) /
                      static_cast<double>(differences.size());
  if (mean == 0) return 0;
  return std::count_if(differences.begin(), differences.end(),
                       [mean](double d) { return d * mean > 0; });
}

namespace {

/// 1-based ranks of `row`, ties sharing their average rank; adds t^3 - t of every tie
/// group of t values to `ties`.
std::vector<double> average_ranks(const std::vector<double>& row, double& ties) {
  const size_t n = row.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return row[i] < row[j]; });
  std::vector<double> ranks(n);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    while (end < n && row[order[end]] == row[order[start]]) ++end;
    const double t = static_cast<double>(end - start);
    for (size_t k = start; k < end; ++k)
      ranks[order[k]] = (static_cast<double>(start + end) + 1) / 2;
    ties += t * t * t - t;
    start = end;
  }
  return ranks;
}

}  // namespace

double kendall_w(const std::vector<std::vector<double>>& scores) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const size_t m = scores.size();
  if (m < 2 || scores.front().size() < 2) return nan;
  const size_t n = scores.front().size();
  std::vector<double> rank_sums(n, 0.0);
  double ties = 0;
  for (const std::vector<double>& row : scores) {
    if (row.size() != n)
      throw std::invalid_argument("kendall_w: rows of " + std::to_string(n) + " and " +
                                  std::to_string(row.size()) + " scores");
    check_finite(row, "kendall_w");
    const std::vector<double> ranks = average_ranks(row, ties);
    for (size_t i = 0; i < n; ++i) rank_sums[i] += ranks[i];
  }
  const double dm = static_cast<double>(m), dn = static_cast<double>(n);
  const double mean = dm * (dn + 1) / 2;
  double s = 0;
  for (double r : rank_sums) s += (r - mean) * (r - mean);
  const double denominator = dm * dm * (dn * dn * dn - dn) - dm * ties;
  return denominator > 0 ? 12 * s / denominator : nan;
}

}  // namespace frostnas
