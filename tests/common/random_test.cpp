#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/random.h"

using namespace frostnas;

TEST(Random, UniformIndexIsTheDrawModuloNBelowTheRejectionLimit) {
  // The algorithm pinned: one 64-bit draw, rejected only above the largest multiple of n, so
  // the value is a function of the engine's stream alone (which the standard fixes).
  for (int64_t n : {1, 2, 3, 7, 1000}) {
    std::mt19937_64 rng(42), mirror(42);
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    const uint64_t limit = max - max % static_cast<uint64_t>(n);
    for (int i = 0; i < 200; ++i) {
      uint64_t x;
      do {
        x = mirror();
      } while (x >= limit);
      EXPECT_EQ(uniform_index(rng, n), static_cast<int64_t>(x % static_cast<uint64_t>(n)));
    }
  }
}

TEST(Random, UniformIndexCoversEveryValueEvenly) {
  std::mt19937_64 rng(7);
  std::vector<int> counts(5, 0);
  const int draws = 50000;
  for (int i = 0; i < draws; ++i) ++counts[static_cast<size_t>(uniform_index(rng, 5))];
  // Chi-square with 4 degrees of freedom: 18.5 is its 0.999 quantile.
  double chi2 = 0;
  for (int c : counts) chi2 += (c - draws / 5.0) * (c - draws / 5.0) / (draws / 5.0);
  EXPECT_LT(chi2, 18.5);
}

TEST(Random, UniformRealIsInTheUnitInterval) {
  std::mt19937_64 rng(3);
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = uniform_real(rng);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Random, SavedStateContinuesTheSameStream) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 1000; ++i) rng();
  const std::string saved = save_rng(rng);
  std::vector<uint64_t> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(rng());
  std::mt19937_64 restored(999);
  load_rng(restored, saved, "state.json: $.rng");
  for (uint64_t e : expected) EXPECT_EQ(restored(), e);
}

TEST(Random, UnreadableStateIsRefusedNamingTheField) {
  std::mt19937_64 rng(1);
  const std::mt19937_64 before = rng;
  try {
    load_rng(rng, "not numbers", "state.json: $.rng");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "state.json: $.rng: not a saved random-number state");
  }
  EXPECT_TRUE(rng == before);
}

TEST(Random, SeededShuffleIsADeterministicPermutation) {
  std::vector<int> a(100), b(100);
  std::iota(a.begin(), a.end(), 0);
  std::iota(b.begin(), b.end(), 0);
  std::mt19937_64 ra(mix_seed(5, 1)), rb(mix_seed(5, 1));
  seeded_shuffle(a, ra);
  seeded_shuffle(b, rb);
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  std::vector<int> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(a, identity);
}

TEST(Random, MixSeedGivesDistinctStreams) {
  std::set<uint64_t> seen;
  for (uint64_t s = 0; s < 20; ++s)
    for (uint64_t v = 0; v < 20; ++v) seen.insert(mix_seed(s, v));
  EXPECT_EQ(seen.size(), 400u);
}
