#pragma once

#include <random>

#include "controllers/strategy.h"

namespace frostnas {

/// Uniform sampling of choice vectors: the baseline every strategy must beat.
class RandomStrategy : public Strategy {
 public:
  RandomStrategy(const SearchSpace& space, uint64_t seed);
  std::string name() const override { return "random"; }
  using Strategy::observe;
  using Strategy::propose;
  Choices propose() override;
  void observe(const Choices& choices, double reward) override {}
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state, const std::string& blob) override;

 private:
  SearchSpace space_;
  std::mt19937_64 rng_;
};

/// Factory for the registry; options: none (an empty object).
std::unique_ptr<Strategy> make_random_strategy(const SearchSpace& space, uint64_t seed,
                                               const JsonReader& options);

}  // namespace frostnas
