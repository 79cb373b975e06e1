#include "controllers/strategy.h"

#include <map>

#include "common/error.h"
#include "common/json_reader.h"
#include "controllers/evolution_strategy.h"
#include "controllers/random_strategy.h"
#include "controllers/rl_controller.h"

namespace frostnas {

namespace {
// Built-ins are listed here rather than self-registered: objects of a static
// library that nothing references would be dropped by the linker.
std::map<std::string, StrategyFactory>& registry() {
  static std::map<std::string, StrategyFactory> r{
      {"evolution", make_evolution_strategy},
      {"random", make_random_strategy},
      {"rl", make_rl_controller},
  };
  return r;
}
}  // namespace

std::vector<Choices> Strategy::propose(int64_t k) {
  std::vector<Choices> batch;
  for (int64_t i = 0; i < k; ++i) batch.push_back(propose());
  return batch;
}

void Strategy::observe(const std::vector<Choices>& batch, const std::vector<double>& rewards) {
  if (batch.size() != rewards.size()) {
    throw std::logic_error(name() + ": " + std::to_string(batch.size()) + " proposals but " +
                           std::to_string(rewards.size()) + " rewards");
  }
  for (size_t i = 0; i < batch.size(); ++i) observe(batch[i], rewards[i]);
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

void register_strategy(const std::string& name, StrategyFactory factory) {
  if (!registry().emplace(name, std::move(factory)).second) {
    throw std::logic_error("strategy \"" + name + "\" registered twice");
  }
}

std::unique_ptr<Strategy> make_strategy_from_json(const std::string& name, const SearchSpace& space,
                                                  uint64_t seed, const JsonReader& options) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    throw InputError("unknown strategy \"" + name +
                     "\" (allowed: " + join_strings(strategy_names()) + ")");
  }
  return it->second(space, seed, options);
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const SearchSpace& space,
                                        uint64_t seed, const nlohmann::json& options) {
  return make_strategy_from_json(name, space, seed,
                                 JsonReader(options, "strategy options (" + name + ")"));
}

}  // namespace frostnas
