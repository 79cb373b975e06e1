#pragma once

#include <random>
#include <string>

namespace frostnas {

/// The full state of a 64-bit Mersenne Twister as text, and back: random
/// streams survive a save/resume exactly.
std::string save_rng(const std::mt19937_64& rng);
void load_rng(std::mt19937_64& rng, const std::string& text);

/// A uniform double in [0, 1) from 53 random bits (portable).
double uniform_real(std::mt19937_64& rng);

}  // namespace frostnas
