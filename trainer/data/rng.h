#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace frostnas {

/// Mixes `value` into `seed` (SplitMix64 finaliser): independent streams for
/// (seed, epoch, batch) without correlation between neighbouring values.
inline uint64_t mix_seed(uint64_t seed, uint64_t value) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (value + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Fisher-Yates shuffle with a portable draw (std::shuffle differs between
/// standard libraries), so a seed gives the same order everywhere.
template <typename T>
void seeded_shuffle(std::vector<T>& values, std::mt19937_64& rng) {
  for (size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng() % i]);
}

}  // namespace frostnas
