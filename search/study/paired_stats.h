#pragma once

// Statistics for comparisons paired by seed: runs that share a seed share their data, their
// initialisation and their data order, so the per-seed difference removes what the seed
// contributes and the tests below are on those differences.

#include <cstdint>
#include <string>
#include <vector>

namespace frostnas {

/// Count, mean and sample standard deviation (divisor n - 1; 0 when n = 1) of a sample.
struct SampleSummary {
  int64_t n = 0;
  double mean = 0;
  double sd = 0;
};

/// Throws std::invalid_argument on an empty sample or a non-finite value.
SampleSummary summarize(const std::vector<double>& values);

/// The comparison of variant `b` against variant `a` on differences d[i] = b[i] - a[i].
struct PairedComparison {
  int64_t n = 0;
  double mean_diff = 0;  ///< mean of the differences
  double sd_diff = 0;    ///< their sample standard deviation
  double ci_low = 0;     ///< two-sided t interval of the mean difference ...
  double ci_high = 0;    ///< ... at `level`
  double level = 0.95;
  double t = 0;    ///< paired t statistic (infinite when every difference is equal and not 0)
  double t_p = 1;  ///< its two-sided p-value (n - 1 degrees of freedom)
  double sign_flip_p = 1;  ///< exact two-sided sign-flip permutation p-value
};

/// Compares paired samples (same length, at least 2 pairs, at most kMaxExactPairs).
/// Throws std::invalid_argument otherwise, or on a non-finite value.
PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                double level = 0.95);

/// The largest number of pairs the exact sign-flip test enumerates (2^n sign patterns).
constexpr int64_t kMaxExactPairs = 24;

/// Exact two-sided sign-flip test of a zero mean: the share of the 2^n patterns of signs
/// whose |sum of signed differences| reaches the observed |sum| (the observed pattern
/// counts, so p >= 2 / 2^n unless every difference is 0, which gives 1).
double sign_flip_p(const std::vector<double>& differences);

/// Holm's step-down adjustment of p-values for the comparisons of one study, returned in
/// the input order (each at most 1, never below the unadjusted value).
std::vector<double> holm_adjust(const std::vector<double>& p_values);

/// The verdict of a comparison against criteria declared before the run.
enum class Verdict {
  kReproduced,     ///< adjusted p < alpha and the whole interval beyond 0 in the claimed direction
  kNotReproduced,  ///< the whole interval inside (-margin, +margin)
  kInconclusive    ///< neither
};

/// "reproduced", "not reproduced", "inconclusive".
std::string to_string(Verdict verdict);

/// The verdict of `c` for a claimed positive effect (b above a), given its Holm-adjusted
/// p-value, the significance level `alpha` and the equivalence `margin` (in the units of
/// the measure, e.g. 0.5 accuracy points). With `min_effect` > 0 a reproduction also needs
/// a mean difference of at least `min_effect` (a claim such as "at least 0.5 points more").
Verdict judge(const PairedComparison& c, double adjusted_p, double alpha, double margin,
              double min_effect = 0);

/// How many of `differences` have the sign of their mean (0 when the mean is 0): the
/// "same sign in k of n seeds" of a paired comparison.
int64_t count_same_sign(const std::vector<double>& differences);

/// Kendall's coefficient of concordance W of `scores[rater][object]` (every row the same
/// length): each rater's scores are ranked (ties share their average rank), and
/// W = 12 S / (m^2 (n^3 - n) - m T), S the sum of squared deviations of the objects' rank
/// sums from their mean, T the sum over raters and tie groups of t^3 - t. 1: every rater
/// ranks the objects alike; near 0: no agreement. NaN with fewer than 2 raters or 2
/// objects, or when every rater ties every object. Throws std::invalid_argument on rows
/// of unequal length or a non-finite score.
double kendall_w(const std::vector<std::vector<double>>& scores);

}  // namespace frostnas
