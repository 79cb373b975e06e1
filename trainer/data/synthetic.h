#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "trainer/data/image_dataset.h"

namespace frostnas {

/// Options of the synthetic data set: every class has a fixed smooth random
/// template (drawn from `seed`); a sample is its class template plus Gaussian
/// pixel noise (drawn from `sample_seed`), so a small network can learn it and
/// train/test sets share templates but not samples.
struct SyntheticOptions {
  TORCH_ARG(int64_t, count) = 1024;
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, size) = 28;
  /// Standard deviation of the pixel noise, pixel scale [0, 1].
  TORCH_ARG(double, noise) = 0.3;
  /// Seed of the class templates.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Seed of labels and noise (use different ones for train and test).
  TORCH_ARG(uint64_t, sample_seed) = 1;
};

/// Generates the set: images uint8 [count, channels, size, size], balanced labels
/// in shuffled order, mean/std computed from the images. Throws InputError on
/// non-positive sizes or noise < 0.
ImageDataset make_synthetic(const SyntheticOptions& options);

}  // namespace frostnas
