#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace frostnas {

/// An image classification set as bytes; batches are converted to float when they are drawn
/// (see DataLoader). A set read from the decoded-image cache keeps its images in the
/// memory-mapped file: a split of it (select_samples) is a list of rows of that file, not a
/// copy, so sets larger than memory are paged in as batches are drawn.
struct ImageDataset {
  torch::Tensor images;  ///< uint8 [M, C, H, W]: every row (M = N unless `rows` is defined)
  torch::Tensor labels;  ///< int64 [N], each in [0, num_classes)
  int64_t num_classes = 0;
  std::vector<float> mean;  ///< per channel, pixel scale [0, 1]
  std::vector<float> std;   ///< per channel, pixel scale [0, 1]
  std::string name;
  /// Class names by label (image-file sets: folder names or the list's labels);
  /// empty when the set has none.
  std::vector<std::string> class_names;
  /// int64 [N]: sample i is images[rows[i]]; undefined: sample i is images[i].
  torch::Tensor rows;
  /// The images are memory-mapped (decoded cache): select_samples makes row views.
  bool mapped = false;

  int64_t size() const {
    if (rows.defined()) return rows.size(0);
    return images.defined() ? images.size(0) : 0;
  }
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

/// The samples at `indices` (in that order); metadata is copied. Labels are always copied;
/// images too, unless the set is memory-mapped, where the result holds row indices into the
/// same images.
ImageDataset select_samples(const ImageDataset& data, const std::vector<int64_t>& indices);

/// The rows of `data.images` that hold samples `samples` (the samples themselves when the set
/// has no row view).
std::vector<int64_t> image_rows(const ImageDataset& data, const std::vector<int64_t>& samples);

/// The images of samples `samples`, gathered: uint8 [samples.size(), C, H, W].
torch::Tensor sample_images(const ImageDataset& data, const std::vector<int64_t>& samples);

/// A seeded order of all sample indices in which every prefix is stratified:
/// each class appears in it in proportion to its size (within one sample).
std::vector<int64_t> stratified_order(const ImageDataset& data, uint64_t seed);

}  // namespace frostnas
