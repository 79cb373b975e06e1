#pragma once

#include <deque>
#include <random>

#include <torch/arg.h>

#include "controllers/strategy.h"

namespace frostnas {

/// Options of regularized (aging) evolution (Real et al., 2019).
struct EvolutionOptions {
  TORCH_ARG(int64_t, population) = 20;  ///< P: members kept, the oldest dies first
  TORCH_ARG(int64_t, sample_size) = 5;  ///< S: tournament size
  TORCH_ARG(int64_t, mutations) = 1;    ///< decisions changed per child
};

/// Regularized evolution: the first `population` proposals are uniform samples;
/// then each proposal mutates one decision of the best of `sample_size` members
/// drawn at random; every observed child joins the population and the oldest
/// member leaves. In batches, a round makes k children whose parents are drawn
/// from the population as it stood at the start of the round (uniform samples
/// while the population plus the round's earlier children is below its size).
class EvolutionStrategy : public Strategy {
 public:
  EvolutionStrategy(const SearchSpace& space, uint64_t seed, EvolutionOptions options = {});
  std::string name() const override { return "evolution"; }
  using Strategy::observe;
  using Strategy::propose;
  Choices propose() override;
  std::vector<Choices> propose(int64_t k) override;
  void observe(const Choices& choices, double reward) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state, const std::string& blob) override;

  struct Member {
    Choices choices;
    double reward = 0.0;
  };
  const std::deque<Member>& population() const { return population_; }

 private:
  Choices mutate(const Choices& parent);
  /// A uniform sample while `pending` + the population is below its size, else a child.
  Choices propose_with(int64_t pending);

  SearchSpace space_;
  std::vector<Decision> decisions_;
  EvolutionOptions options_;
  std::mt19937_64 rng_;
  std::deque<Member> population_;
};

/// The JSON fields of the options (common/config_fields.h), with their ranges.
void config_fields(ConfigFields& f, EvolutionOptions& o);

/// Factory for the registry; options: {"population", "sample_size", "mutations"}.
std::unique_ptr<Strategy> make_evolution_strategy(const SearchSpace& space, uint64_t seed,
                                                  const JsonReader& options);

}  // namespace frostnas
