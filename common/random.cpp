#include "common/random.h"

#include <limits>
#include <sstream>

#include "common/error.h"

namespace frostnas {

int64_t uniform_index(std::mt19937_64& rng, int64_t n) {
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % un;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return static_cast<int64_t>(x % un);
}

double uniform_real(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::string save_rng(const std::mt19937_64& rng) {
  std::ostringstream os;
  os << rng;
  return os.str();
}

void load_rng(std::mt19937_64& rng, const std::string& text, const std::string& what) {
  std::istringstream is(text);
  std::mt19937_64 loaded;
  is >> loaded;
  if (is.fail()) throw InputError(what + ": not a saved random-number state");
  rng = loaded;
}

}  // namespace frostnas
