#pragma once

#include <cstdint>

namespace frostnas {

/// Rounds `v` to a multiple of `divisor` (at least `divisor`), never more than
/// 10% below `v`: the reference FrostNet / MobileNet rule.
int64_t make_divisible(double v, int64_t divisor = 8);

/// Channels of a block with base width `channels` under `width_mult`:
/// `make_divisible(int(channels * width_mult))`, as the official code does.
int64_t scaled_channels(int64_t channels, double width_mult);

/// Stem channels: `make_divisible(int(channels * min(1, width_mult)))`.
int64_t scaled_stem_channels(int64_t channels, double width_mult);

/// Output side of a square convolution with padding (kernel - 1) / 2.
int64_t conv_out_size(int64_t in_size, int64_t kernel, int64_t stride);

}  // namespace frostnas
