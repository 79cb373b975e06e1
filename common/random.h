#pragma once

// Portable random numbers: the same seed gives the same stream, shuffle and draw with every
// standard library (std::shuffle and std::uniform_int_distribution differ between them), and
// a generator's state survives a save and resume exactly.

#include <cstdint>
#include <random>
#include <string>
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

/// Fisher-Yates shuffle with a portable draw, so a seed gives the same order everywhere.
template <typename T>
void seeded_shuffle(std::vector<T>& values, std::mt19937_64& rng) {
  for (size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng() % i]);
}

/// A uniform integer in [0, n), n > 0, by rejection sampling.
int64_t uniform_index(std::mt19937_64& rng, int64_t n);

/// A uniform double in [0, 1) from 53 random bits.
double uniform_real(std::mt19937_64& rng);

/// The full state of the generator as text, and back. `load_rng` throws
/// InputError("<what>: not a saved random-number state") on text it cannot read.
std::string save_rng(const std::mt19937_64& rng);
void load_rng(std::mt19937_64& rng, const std::string& text, const std::string& what);

}  // namespace frostnas
