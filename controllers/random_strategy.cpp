#include "controllers/random_strategy.h"

#include "common/json_reader.h"
#include "common/random.h"

namespace frostnas {

RandomStrategy::RandomStrategy(const SearchSpace& space, uint64_t seed)
    : space_(space), rng_(seed) {}

Choices RandomStrategy::propose() { return sample_choices(space_, rng_); }

nlohmann::json RandomStrategy::state() const { return {{"rng", save_rng(rng_)}}; }

void RandomStrategy::load_state(const nlohmann::json& state, const std::string& /*blob*/) {
  JsonReader r(state, "random strategy state");
  r.expect_object({"rng"});
  load_rng(rng_, r.get_string("rng"), r.source() + ": " + r.at("rng").path());
}

std::unique_ptr<Strategy> make_random_strategy(const SearchSpace& space, uint64_t seed,
                                               const JsonReader& options) {
  options.expect_object({});
  return std::make_unique<RandomStrategy>(space, seed);
}

}  // namespace frostnas
