#include "space/channels.h"

#include <algorithm>

namespace frostnas {

int64_t make_divisible(double v, int64_t divisor) {
  int64_t new_v =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(new_v) < 0.9 * v) new_v += divisor;
  return new_v;
}

int64_t scaled_channels(int64_t channels, double width_mult) {
  return make_divisible(static_cast<double>(static_cast<int64_t>(channels * width_mult)));
}

int64_t scaled_stem_channels(int64_t channels, double width_mult) {
  return scaled_channels(channels, std::min(1.0, width_mult));
}

int64_t conv_out_size(int64_t in_size, int64_t kernel, int64_t stride) {
  const int64_t pad = (kernel - 1) / 2;
  return (in_size + 2 * pad - kernel) / stride + 1;
}

}  // namespace frostnas
