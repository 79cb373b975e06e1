#include "controllers/rng_state.h"

#include <sstream>

#include "common/error.h"

namespace frostnas {

std::string save_rng(const std::mt19937_64& rng) {
  std::ostringstream os;
  os << rng;
  return os.str();
}

void load_rng(std::mt19937_64& rng, const std::string& text) {
  std::istringstream is(text);
  std::mt19937_64 loaded;
  is >> loaded;
  if (is.fail()) throw InputError("strategy state: rng: not a saved random-number state");
  rng = loaded;
}

double uniform_real(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace frostnas
