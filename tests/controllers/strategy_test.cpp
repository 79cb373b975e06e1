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

// A batch of one is exactly the single calls; larger batches are deterministic
// for a seed and resume from a state saved between batches.
TEST(Strategies, BatchesOfOneMatchSingleCallsAndBatchesResume) {
  const SearchSpace space = proxy_space();
  for (const auto& name : strategy_names()) {
    const nlohmann::json options = name == "evolution"
                                       ? nlohmann::json{{"population", 6}, {"sample_size", 2}}
                                       : nlohmann::json::object();
    auto single = make_strategy(name, space, 21, options);
    auto batched = make_strategy(name, space, 21, options);
    for (int i = 0; i < 10; ++i) {
      const Choices c = single->propose();
      const std::vector<Choices> batch = batched->propose(1);
      ASSERT_EQ(batch, std::vector<Choices>{c}) << name << " step " << i;
      single->observe(c, first_option_share(c));
      batched->observe(batch, {first_option_share(c)});
    }
    EXPECT_EQ(single->state(), batched->state()) << name;

    auto a = make_strategy(name, space, 5, options);
    auto b = make_strategy(name, space, 5, options);
    std::unique_ptr<Strategy> resumed;
    for (int round = 0; round < 6; ++round) {
      const std::vector<Choices> batch = a->propose(4);
      ASSERT_EQ(batch.size(), 4u);
      EXPECT_EQ(b->propose(4), batch) << name << " round " << round;
      if (resumed) EXPECT_EQ(resumed->propose(4), batch) << name << " resumed round " << round;
      std::vector<double> rewards;
      for (const Choices& c : batch) rewards.push_back(first_option_share(c));
      a->observe(batch, rewards);
      b->observe(batch, rewards);
      if (resumed) resumed->observe(batch, rewards);
      if (round == 2) {
        resumed = make_strategy(name, space, 77, options);
        resumed->load_state(nlohmann::json::parse(a->state().dump()), a->state_blob());
      }
    }
    EXPECT_EQ(a->state(), b->state()) << name;
    EXPECT_EQ(a->state(), resumed->state()) << name;
  }
}

TEST(Evolution, BatchChildrenComeFromThePopulationAtTheStartOfTheRound) {
  const SearchSpace space = proxy_space();
  EvolutionStrategy evo(space, 8, EvolutionOptions().population(4).sample_size(4));
  const std::vector<Choices> fill = evo.propose(6);  // 4 uniform samples fill it, 2 more too
  evo.observe(fill, {0.0, 0.0, 1.0, 0.0, 0.0, 0.0});
  ASSERT_EQ(evo.population().size(), 4u);  // the two oldest left
  EXPECT_EQ(evo.population()[0].choices, fill[2]);
  for (const Choices& child : evo.propose(3)) {
    // A tournament of 4 over 4 members: each child mutates one decision of a member.
    int closest = static_cast<int>(child.size());
    for (const auto& m : evo.population()) {
      int differences = 0;
      for (size_t d = 0; d < child.size(); ++d) differences += child[d] != m.choices[d];
      closest = std::min(closest, differences);
    }
    EXPECT_EQ(closest, 1);
  }
}

TEST(RLController, BatchUpdateFollowsTheBatchBaseline) {
  const SearchSpace space = proxy_space();
  RLController rl(space, 1, RLControllerOptions().lr(0.02));
  double early = 0, late = 0;
  for (int round = 0; round < 75; ++round) {
    const std::vector<Choices> batch = rl.propose(4);
    std::vector<double> rewards;
    for (const Choices& c : batch) rewards.push_back(first_option_share(c));
    for (double r : rewards) {
      if (round < 8) early += r / 32;
      if (round >= 67) late += r / 32;
    }
    rl.observe(batch, rewards);
  }
  EXPECT_GT(late, early + 0.2);
  // Equal rewards carry no signal against the batch baseline: a fresh controller
  // without the entropy bonus keeps its policy.
  RLController fresh(space, 1, RLControllerOptions().entropy_weight(0.0));
  const std::vector<Choices> batch = fresh.propose(3);
  const auto before = fresh.net()->probabilities(batch[0]);
  fresh.observe(batch, {0.5, 0.5, 0.5});
  EXPECT_EQ(fresh.net()->probabilities(batch[0]), before);
  EXPECT_EQ(fresh.baseline(), 0.5);
}
