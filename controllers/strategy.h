#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "space/search_space.h"

namespace frostnas {

class ConfigFields;

/// A search strategy: proposes architectures of a search space as choice vectors
/// and learns from their rewards. Strategies never train or measure anything:
/// an evaluator scores what they propose and the driver reports the reward back.
///
/// Protocol: `propose()` then `observe()` of that proposal, in order; or, in
/// batches, `propose(k)` then `observe(batch, rewards)` of those k proposals (a
/// batch of one behaves exactly like the single calls). The whole state (random
/// streams included) round-trips through `state()`, `state_blob()` and `load_state()`
/// between batches, so a search resumed from a saved state makes exactly the proposals an
/// uninterrupted one would.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  /// The next choice vector to evaluate (see `decisions(space)`).
  virtual Choices propose() = 0;
  /// The reward of an evaluated proposal (higher is better).
  virtual void observe(const Choices& choices, double reward) = 0;
  /// `k` (>= 1) proposals to evaluate together, e.g. on k workers at once. The
  /// default calls `propose()` k times.
  virtual std::vector<Choices> propose(int64_t k);
  /// The rewards of a whole batch from `propose(k)`, in proposal order. The
  /// default calls `observe(choices, reward)` for each in order.
  virtual void observe(const std::vector<Choices>& batch, const std::vector<double>& rewards);
  /// Everything needed to continue exactly from here: a JSON document ...
  virtual nlohmann::json state() const = 0;
  /// ... and raw bytes (a serialized network, stored as an SQLite BLOB); empty when the
  /// strategy has no binary state.
  virtual std::string state_blob() const { return {}; }
  /// Restores what `state()` and `state_blob()` returned. Throws InputError when they do
  /// not belong to this strategy, space and options.
  virtual void load_state(const nlohmann::json& state, const std::string& blob) = 0;
};

/// Constructs a strategy over `space` with the given seed and options object
/// (strategy-specific fields read with read_config: unknown fields are rejected, errors name
/// the options' source and JSON path).
using StrategyFactory = std::function<std::unique_ptr<Strategy>(
    const SearchSpace& space, uint64_t seed, const JsonReader& options)>;

/// Names of the registered strategies ("evolution", "random", "rl").
std::vector<std::string> strategy_names();
/// Registers a strategy under `name` (replacing none: duplicate names throw).
void register_strategy(const std::string& name, StrategyFactory factory);
/// Makes a strategy by name; throws InputError listing the known names.
std::unique_ptr<Strategy> make_strategy(const std::string& name, const SearchSpace& space,
                                        uint64_t seed,
                                        const nlohmann::json& options = nlohmann::json::object());
/// make_strategy with options read where they stand in a file (`$.strategy.options`), so
/// that errors name that file and path.
std::unique_ptr<Strategy> make_strategy_from_json(const std::string& name, const SearchSpace& space,
                                                  uint64_t seed, const JsonReader& options);

}  // namespace frostnas
