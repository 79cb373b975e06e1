#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "controllers/evolution_strategy.h"
#include "controllers/reward.h"
#include "controllers/rl_controller.h"
#include "controllers/strategy.h"
#include "space/search_space.h"

using namespace frostnas;

namespace {

SearchSpace proxy_space() {
  return load_search_space(std::string(FROSTNAS_SOURCE_DIR) + "/experiments/spaces/proxy.json");
}

// A cheap objective of the choices: the share of decisions at their first option.
double first_option_share(const Choices& c) {
  double n = 0;
  for (int64_t v : c) n += v == 0;
  return n / static_cast<double>(c.size());
}

}  // namespace

TEST(Strategies, RegistryListsAndRejects) {
  EXPECT_EQ(strategy_names(), (std::vector<std::string>{"evolution", "random", "rl"}));
  try {
    make_strategy("bayes", proxy_space(), 0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown strategy \"bayes\" (allowed: evolution, random, rl)");
  }
  EXPECT_THROW(make_strategy("evolution", proxy_space(), 0, {{"populaton", 3}}), InputError);
  EXPECT_THROW(make_strategy("rl", proxy_space(), 0, {{"lr", -1.0}}), InputError);
}

TEST(Strategies, OptionsErrorsNameTheKeyAndTheAllowedValues) {
  auto error = [](const std::string& name, const nlohmann::json& options) {
    try {
      make_strategy(name, proxy_space(), 0, options);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error("rl", {{"hiden", 32}}),
            "strategy options (rl): $.hiden: unknown field (allowed fields: hidden, lr, "
            "entropy_weight, baseline_decay, tanh_c, temperature)");
  EXPECT_EQ(error("rl", {{"lr", 0.0}}),
            "strategy options (rl): $.lr: 0 is out of range (allowed: (0, 1])");
  EXPECT_EQ(error("evolution", {{"populaton", 3}}),
            "strategy options (evolution): $.populaton: unknown field (allowed fields: "
            "population, sample_size, mutations)");
  EXPECT_EQ(error("random", {{"seed", 1}}),
            "strategy options (random): $.seed: unknown field (allowed fields: )");
}

// Sweep: every registered strategy proposes valid vectors, is deterministic for a
// seed, and resumes from a saved state exactly.
TEST(Strategies, EveryStrategyIsValidDeterministicAndResumable) {
  const SearchSpace space = proxy_space();
  const size_t n = decisions(space).size();
  for (const auto& name : strategy_names()) {
    // A small population so that evolution mutates within the steps tested.
    const nlohmann::json options = name == "evolution"
                                       ? nlohmann::json{{"population", 4}, {"sample_size", 2}}
                                       : nlohmann::json::object();
    auto a = make_strategy(name, space, 11, options);
    auto b = make_strategy(name, space, 11, options);
    std::vector<Choices> first;
    for (int i = 0; i < 12; ++i) {
      const Choices c = a->propose();
      ASSERT_EQ(c.size(), n) << name;
      EXPECT_NO_THROW(decode(space, c)) << name;
      EXPECT_EQ(b->propose(), c) << name << " step " << i;
      a->observe(c, first_option_share(c));
      b->observe(c, first_option_share(c));
      first.push_back(c);
    }
    // Save a's state into a fresh strategy; both must continue identically.
    auto resumed = make_strategy(name, space, 999, options);
    resumed->load_state(nlohmann::json::parse(a->state().dump()), a->state_blob());
    for (int i = 0; i < 25; ++i) {
      const Choices c = a->propose();
      EXPECT_EQ(resumed->propose(), c) << name << " resumed step " << i;
      a->observe(c, first_option_share(c));
      resumed->observe(c, first_option_share(c));
    }
    auto other = make_strategy(name, space, 12);
    EXPECT_NE(other->propose(), first.front()) << name;
  }
}

TEST(Evolution, MutatesOneDecisionOfATournamentWinner) {
  const SearchSpace space = proxy_space();
  EvolutionStrategy evo(space, 3, EvolutionOptions().population(5).sample_size(5));
  for (int i = 0; i < 5; ++i) {
    const Choices c = evo.propose();
    evo.observe(c, i == 2 ? 1.0 : 0.0);  // member 2 is the best
  }
  const Choices best = evo.population()[2].choices;
  const Choices child = evo.propose();  // tournament of 5 over 5 members: almost surely includes 2
  int differences = 0;
  for (size_t d = 0; d < child.size(); ++d) differences += child[d] != best[d];
  EXPECT_EQ(differences, 1);
  evo.observe(child, 0.5);
  EXPECT_EQ(evo.population().size(), 5u);  // the oldest left
  EXPECT_EQ(evo.population().back().choices, child);
}

TEST(RLController, LearnsACheapObjective) {
  const SearchSpace space = proxy_space();
  RLController rl(space, 1, RLControllerOptions().lr(0.02));
  double early = 0, late = 0;
  for (int i = 0; i < 300; ++i) {
    const Choices c = rl.propose();
    const double r = first_option_share(c);
    if (i < 30) early += r / 30;
    if (i >= 270) late += r / 30;
    rl.observe(c, r);
  }
  // Uniform sampling gives about 0.4 (a third of 3-way and half of 2-way decisions).
  EXPECT_NEAR(early, 0.4, 0.1);
  EXPECT_GT(late, early + 0.25);
}

TEST(RLController, ProbabilitiesSumToOneAndFollowTanhSquashing) {
  const SearchSpace space = proxy_space();
  RLController rl(space, 2);
  const Choices c = rl.propose();
  for (const auto& p : rl.net()->probabilities(c)) {
    double sum = 0;
    for (double v : p) {
      sum += v;
      // |logit| <= 2.5 bounds any probability ratio by e^5.
      EXPECT_GT(v, 1.0 / (1.0 + 2.0 * std::exp(5.0)) - 1e-6);
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);  // float softmax
  }
}

TEST(Reward, MnasNetSoftAndHardConstraints) {
  EXPECT_DOUBLE_EQ(mnas_reward(0.9, 10.0, RewardOptions::soft(10.0)), 0.9);
  EXPECT_NEAR(mnas_reward(0.9, 20.0, RewardOptions::soft(10.0)), 0.9 * std::pow(2.0, -0.07), 1e-12);
  EXPECT_NEAR(mnas_reward(0.9, 5.0, RewardOptions::soft(10.0)), 0.9 * std::pow(0.5, -0.07), 1e-12);
  EXPECT_DOUBLE_EQ(mnas_reward(0.9, 5.0, RewardOptions::hard(10.0)), 0.9);
  EXPECT_NEAR(mnas_reward(0.9, 20.0, RewardOptions::hard(10.0)), 0.45, 1e-12);
  EXPECT_THROW(RewardOptions::named("medium", 1.0), InputError);
}
