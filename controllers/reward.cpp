#include "controllers/reward.h"

#include <cmath>

#include "common/error.h"

namespace frostnas {

RewardOptions RewardOptions::soft(double target_ms) {
  return RewardOptions().target_ms(target_ms).alpha(-0.07).beta(-0.07);
}

RewardOptions RewardOptions::hard(double target_ms) {
  return RewardOptions().target_ms(target_ms).alpha(0.0).beta(-1.0);
}

RewardOptions RewardOptions::named(const std::string& name, double target_ms) {
  if (name == "soft") return soft(target_ms);
  if (name == "hard") return hard(target_ms);
  throw InputError("unknown latency constraint \"" + name + "\" (allowed: soft, hard)");
}

double mnas_reward(double accuracy, double latency_ms, const RewardOptions& o) {
  const double w = latency_ms <= o.target_ms() ? o.alpha() : o.beta();
  return accuracy * std::pow(latency_ms / o.target_ms(), w);
}

}  // namespace frostnas
