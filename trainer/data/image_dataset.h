#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace frostnas {

/// An image classification set held in memory as bytes; batches are converted
/// to float when they are drawn (see DataLoader).
struct ImageDataset {
  torch::Tensor images;  ///< uint8 [N, C, H, W]
  torch::Tensor labels;  ///< int64 [N], each in [0, num_classes)
  int64_t num_classes = 0;
  std::vector<float> mean;  ///< per channel, pixel scale [0, 1]
  std::vector<float> std;   ///< per channel, pixel scale [0, 1]
  std::string name;
  /// Class names by label (image-file sets: folder names or the list's labels);
  /// empty when the set has none.
  std::vector<std::string> class_names;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

/// Per-channel mean and standard deviation of pixel values scaled to [0, 1].
struct ChannelStats {
  std::vector<float> mean;
  std::vector<float> std;
};

/// Exact statistics of uint8 [N, C, H, W] images (per-channel byte histograms).
ChannelStats channel_stats(const torch::Tensor& images);

/// The samples at `indices` (in that order); metadata is copied.
ImageDataset select_samples(const ImageDataset& data, const std::vector<int64_t>& indices);

/// A seeded order of all sample indices in which every prefix is stratified:
/// each class appears in it in proportion to its size (within one sample).
std::vector<int64_t> stratified_order(const ImageDataset& data, uint64_t seed);

}  // namespace frostnas
