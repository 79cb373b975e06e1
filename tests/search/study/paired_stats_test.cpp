#include <cmath>
#include <stdexcept>

#include <gtest/gtest.h>

#include "search/study/paired_stats.h"

using namespace frostnas;

// Reference figures from R 4.2: t.test(b, a, paired = TRUE) and p.adjust(p, "holm").

TEST(PairedStats, SummaryUsesTheSampleStandardDeviation) {
  const SampleSummary s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s.n, 8);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.sd, 2.13809, 1e-5);
  EXPECT_EQ(summarize({3.5}).sd, 0.0);
  EXPECT_THROW(summarize({}), std::invalid_argument);
  EXPECT_THROW(summarize({1.0, NAN}), std::invalid_argument);
}

TEST(PairedStats, PairedTMatchesTheReference) {
  // Differences 1, 2, 3, 4, 5: t = 4.2426, df = 4, p = 0.01324, 95 % CI 1.0368..4.9632.
  const PairedComparison c = compare_paired({10, 10, 10, 10, 10}, {11, 12, 13, 14, 15});
  EXPECT_EQ(c.n, 5);
  EXPECT_DOUBLE_EQ(c.mean_diff, 3.0);
  EXPECT_NEAR(c.sd_diff, 1.581139, 1e-6);
  EXPECT_NEAR(c.t, 4.242641, 1e-6);
  EXPECT_NEAR(c.t_p, 0.01324, 1e-5);
  EXPECT_NEAR(c.ci_low, 1.036757, 1e-6);
  EXPECT_NEAR(c.ci_high, 4.963243, 1e-6);
  // Only the observed pattern and its mirror reach |sum| = 15: 2 / 32.
  EXPECT_DOUBLE_EQ(c.sign_flip_p, 0.0625);
}

TEST(PairedStats, PairingRemovesTheSeedEffect) {
  // Seeds differ by far more than the variants do; the variant effect is +0.3 in every seed
  // but one, so the paired test sees it and an unpaired view would not.
  const std::vector<double> a = {80.0, 85.0, 90.0, 75.0, 88.0, 82.0};
  const std::vector<double> b = {80.3, 85.3, 90.3, 75.2, 88.3, 82.3};
  const PairedComparison c = compare_paired(a, b);
  EXPECT_NEAR(c.mean_diff, 0.28333, 1e-5);
  EXPECT_GT(c.ci_low, 0.0);
  EXPECT_LT(c.t_p, 1e-4);
  EXPECT_DOUBLE_EQ(c.sign_flip_p, 2.0 / 64.0);
}

TEST(PairedStats, SignFlipCountsTiesAndZeroDifferences) {
  EXPECT_DOUBLE_EQ(sign_flip_p({0, 0, 0}), 1.0);
  // {1, -1}: the four patterns give sums 0, 2, -2, 0; |sum| >= 0 for all of them.
  EXPECT_DOUBLE_EQ(sign_flip_p({1, -1}), 1.0);
  // {3, 1, 1}: observed 5; patterns reaching |5|: (+,+,+) and (-,-,-): 2 / 8.
  EXPECT_DOUBLE_EQ(sign_flip_p({3, 1, 1}), 0.25);
  // {3, 1, -1}: observed 3; |sums| over the 8 patterns: 3, 5, 1, 3 and mirrors: 6 / 8.
  EXPECT_DOUBLE_EQ(sign_flip_p({3, 1, -1}), 0.75);
  EXPECT_THROW(sign_flip_p(std::vector<double>(kMaxExactPairs + 1, 1.0)), std::invalid_argument);
}

TEST(PairedStats, EqualDifferencesGiveAZeroWidthInterval) {
  const PairedComparison c = compare_paired({1, 2, 3}, {1.5, 2.5, 3.5});
  EXPECT_DOUBLE_EQ(c.ci_low, 0.5);
  EXPECT_DOUBLE_EQ(c.ci_high, 0.5);
  EXPECT_TRUE(std::isinf(c.t));
  EXPECT_EQ(c.t_p, 0.0);
  const PairedComparison none = compare_paired({1, 2, 3}, {1, 2, 3});
  EXPECT_EQ(none.t, 0.0);
  EXPECT_EQ(none.t_p, 1.0);
  EXPECT_EQ(none.sign_flip_p, 1.0);
}

TEST(PairedStats, BadInputIsRefused) {
  EXPECT_THROW(compare_paired({1, 2}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(compare_paired({1}, {2}), std::invalid_argument);
  EXPECT_THROW(compare_paired({1, 2}, {1, INFINITY}), std::invalid_argument);
  EXPECT_THROW(compare_paired({1, 2}, {2, 3}, 1.0), std::invalid_argument);
}

TEST(PairedStats, HolmMatchesTheReference) {
  // p.adjust(c(0.01, 0.04, 0.03), "holm") = 0.03 0.06 0.06
  const std::vector<double> adjusted = holm_adjust({0.01, 0.04, 0.03});
  ASSERT_EQ(adjusted.size(), 3u);
  EXPECT_NEAR(adjusted[0], 0.03, 1e-12);
  EXPECT_NEAR(adjusted[1], 0.06, 1e-12);
  EXPECT_NEAR(adjusted[2], 0.06, 1e-12);
  // p.adjust(c(0.5, 0.001, 0.2, 0.04), "holm") = 0.5 0.004 0.4 0.12
  const std::vector<double> second = holm_adjust({0.5, 0.001, 0.2, 0.04});
  EXPECT_NEAR(second[0], 0.5, 1e-12);
  EXPECT_NEAR(second[1], 0.004, 1e-12);
  EXPECT_NEAR(second[2], 0.4, 1e-12);
  EXPECT_NEAR(second[3], 0.12, 1e-12);
  EXPECT_TRUE(holm_adjust({}).empty());
  EXPECT_THROW(holm_adjust({0.2, 1.5}), std::invalid_argument);
}

TEST(PairedStats, VerdictFollowsTheDeclaredCriteria) {
  PairedComparison c;
  c.ci_low = 0.2;
  c.ci_high = 1.4;
  EXPECT_EQ(judge(c, 0.01, 0.05, 0.5), Verdict::kReproduced);
  EXPECT_EQ(judge(c, 0.08, 0.05, 0.5), Verdict::kInconclusive);
  c.ci_low = -0.3;
  c.ci_high = 0.4;
  EXPECT_EQ(judge(c, 0.6, 0.05, 0.5), Verdict::kNotReproduced);
  c.ci_high = 0.7;
  EXPECT_EQ(judge(c, 0.6, 0.05, 0.5), Verdict::kInconclusive);
  EXPECT_EQ(to_string(Verdict::kNotReproduced), "not reproduced");
}

TEST(PairedStats, KendallWMatchesHandComputedValues) {
  // Ranks 4 3 2 1 / 3 4 2 1 / 4 2 3 1: rank sums 11 9 7 3 around 7.5, S = 35,
  // W = 12 S / (m^2 (n^3 - n)) = 420 / 540.
  EXPECT_NEAR(kendall_w({{0.4, 0.3, 0.2, 0.1}, {0.3, 0.4, 0.2, 0.1}, {0.4, 0.2, 0.3, 0.1}}),
              7.0 / 9.0, 1e-12);
  // A tie in the first rater (ranks 1.5 1.5 3 4, T = 6) and 1 2 3 4: rank sums
  // 2.5 3.5 6 8 around 5, S = 18.5, W = 12 S / (4 x 60 - 2 x 6) = 222 / 228.
  EXPECT_NEAR(kendall_w({{1, 1, 2, 3}, {1, 2, 3, 4}}), 37.0 / 38.0, 1e-12);
  EXPECT_DOUBLE_EQ(kendall_w({{1, 2, 3}, {10, 20, 30}, {0.1, 0.2, 0.3}}), 1.0);
  // Two raters in opposite orders disagree completely.
  EXPECT_NEAR(kendall_w({{1, 2, 3}, {3, 2, 1}}), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(kendall_w({{1, 2, 3}})));
  EXPECT_TRUE(std::isnan(kendall_w({{1, 1}, {2, 2}})));
  EXPECT_THROW(kendall_w({{1, 2}, {1, 2, 3}}), std::invalid_argument);
}

TEST(PairedStats, CountsDifferencesWithTheSignOfTheMean) {
  EXPECT_EQ(count_same_sign({-0.1, -0.3, 0.05, -0.2, 0, -0.4}), 4);
  EXPECT_EQ(count_same_sign({1, -1}), 0);
  EXPECT_EQ(count_same_sign({}), 0);
}

TEST(PairedStats, AMinimumEffectHoldsBackAReproductionBelowIt) {
  const PairedComparison c = compare_paired({80, 81, 82, 83}, {80.3, 81.4, 82.3, 83.4});
  ASSERT_GT(c.ci_low, 0);
  EXPECT_EQ(judge(c, 0.01, 0.05, 0.1), Verdict::kReproduced);
  EXPECT_EQ(judge(c, 0.01, 0.05, 0.1, 0.5), Verdict::kInconclusive);
}
