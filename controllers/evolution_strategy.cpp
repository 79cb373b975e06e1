#include "controllers/evolution_strategy.h"

#include "common/config_fields.h"
#include "common/json_reader.h"
#include "common/random.h"

namespace frostnas {

EvolutionStrategy::EvolutionStrategy(const SearchSpace& space, uint64_t seed,
                                     EvolutionOptions options)
    : space_(space), decisions_(decisions(space)), options_(options), rng_(seed) {}

Choices EvolutionStrategy::mutate(const Choices& parent) {
  Choices child = parent;
  for (int64_t m = 0; m < options_.mutations(); ++m) {
    const int64_t d = uniform_index(rng_, static_cast<int64_t>(decisions_.size()));
    const int64_t n = static_cast<int64_t>(decisions_[d].options.size());
    // A different option of the same decision: shift by 1..n-1.
    child[d] = (child[d] + 1 + uniform_index(rng_, n - 1)) % n;
  }
  return child;
}

Choices EvolutionStrategy::propose() { return propose_with(0); }

std::vector<Choices> EvolutionStrategy::propose(int64_t k) {
  std::vector<Choices> batch;
  for (int64_t i = 0; i < k; ++i) batch.push_back(propose_with(i));
  return batch;
}

Choices EvolutionStrategy::propose_with(int64_t pending) {
  if (decisions_.empty()) return {};
  if (population_.empty() ||
      static_cast<int64_t>(population_.size()) + pending < options_.population()) {
    return sample_choices(space_, rng_);
  }
  const Member* best = nullptr;
  for (int64_t i = 0; i < options_.sample_size(); ++i) {
    const Member& m = population_[uniform_index(rng_, static_cast<int64_t>(population_.size()))];
    if (!best || m.reward > best->reward) best = &m;
  }
  return mutate(best->choices);
}

void EvolutionStrategy::observe(const Choices& choices, double reward) {
  population_.push_back({choices, reward});
  while (static_cast<int64_t>(population_.size()) > options_.population()) population_.pop_front();
}

nlohmann::json EvolutionStrategy::state() const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : population_)
    members.push_back({{"choices", m.choices}, {"reward", m.reward}});
  return {{"rng", save_rng(rng_)}, {"population", members}};
}

void EvolutionStrategy::load_state(const nlohmann::json& state, const std::string& /*blob*/) {
  JsonReader r(state, "evolution strategy state");
  r.expect_object({"rng", "population"});
  load_rng(rng_, r.get_string("rng"), r.source() + ": " + r.at("rng").path());
  const JsonReader members = r.at("population");
  members.expect_array(/*allow_empty=*/true);
  std::deque<Member> population;
  for (size_t i = 0; i < members.size(); ++i) {
    const JsonReader m = members.at(i);
    m.expect_object({"choices", "reward"});
    Member member;
    member.choices = m.at("choices").value().get<Choices>();
    if (member.choices.size() != decisions_.size())
      m.fail_at("choices", "wrong length for this space");
    member.reward = m.get_double("reward", -1e300, 1e300);
    population.push_back(std::move(member));
  }
  population_ = std::move(population);
}

void config_fields(ConfigFields& f, EvolutionOptions& o) {
  f.integer("population", o.population(), 2, 100000);
  // Read after population, so that the bound is the population given.
  f.integer("sample_size", o.sample_size(), 1, o.population());
  f.integer("mutations", o.mutations(), 1, 100);
}

std::unique_ptr<Strategy> make_evolution_strategy(const SearchSpace& space, uint64_t seed,
                                                  const JsonReader& options) {
  EvolutionOptions o;
  read_config(options, o);
  return std::make_unique<EvolutionStrategy>(space, seed, o);
}

}  // namespace frostnas
