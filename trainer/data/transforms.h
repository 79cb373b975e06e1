#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace frostnas {

/// How a batch of uint8 images becomes network input: augmentation (training
/// only), normalisation, resizing and channel replication, in that order.
struct TransformOptions {
  /// Pad-crop augmentation: pad `pad` zero pixels on each side, then crop a random
  /// window of the original size (0: off).
  TORCH_ARG(int64_t, pad) = 0;
  /// Random horizontal flip with probability 1/2.
  TORCH_ARG(bool, flip) = false;
  /// Random-resized crop (before pad-crop and flip): a window of a random area
  /// fraction in [crop_scale, 1] and aspect ratio in [3/4, 4/3] is resized
  /// (bilinear) back to the image size; 0: off, else in (0, 1].
  TORCH_ARG(double, crop_scale) = 0.0;
  /// Subtract the data set's per-channel mean and divide by its std.
  TORCH_ARG(bool, normalize) = true;
  /// Output height = width (bilinear resize); 0 keeps the input size.
  TORCH_ARG(int64_t, size) = 0;
  /// Output channels: 0 keeps the input's; a single input channel may be
  /// replicated to any count, otherwise it must equal the input's.
  TORCH_ARG(int64_t, channels) = 0;
};

class ConfigFields;
/// The JSON fields of TransformOptions (common/config_fields.h): pad, flip, normalize, size,
/// channels.
void config_fields(ConfigFields& f, TransformOptions& t);

/// Throws InputError unless `options` can be applied to images with
/// `in_channels` channels (and pad >= 0, size >= 0).
void check_transform(const TransformOptions& options, int64_t in_channels);

/// Random pad-crop (offsets in [0, 2 * pad]) then horizontal flip (if `flip`) of
/// each image, drawn from `seed` only. uint8 [B, C, H, W] -> uint8 [B, C, H, W].
torch::Tensor random_crop_flip(const torch::Tensor& images, int64_t pad, bool flip, uint64_t seed);

/// Random-resized crop of each image (see TransformOptions::crop_scale), drawn
/// from `seed` only; `min_scale` 0 returns `images`. uint8 [B, C, H, W] -> same shape.
torch::Tensor random_resized_crop(const torch::Tensor& images, double min_scale, uint64_t seed);

/// `options` without its augmentation (pad 0, no flip, no random-resized crop).
TransformOptions without_augmentation(TransformOptions options);

/// uint8 [B, C, H, W] -> float [B, C', S, S]: pixels / 255, per-channel
/// normalisation with `mean`/`std` (one value per input channel), bilinear resize
/// to `options.size()` and replication of one channel to `options.channels()`.
/// No augmentation.
torch::Tensor images_to_input(const torch::Tensor& images, const std::vector<float>& mean,
                              const std::vector<float>& std, const TransformOptions& options);

/// Both steps: augmentation from `seed` (random-resized crop, pad-crop, flip), then
/// images_to_input.
torch::Tensor apply_transform(const torch::Tensor& images, const std::vector<float>& mean,
                              const std::vector<float>& std, const TransformOptions& options,
                              uint64_t seed);

/// apply_transform of the samples `indices` of uint8 [N, C, H, W] `images`, with the same
/// result. Where the transform neither resizes nor replicates channels it runs as one serial
/// loop (a 256-entry table per channel, crop and flip read in place) that uses no LibTorch
/// thread pool, so that a loader thread does not compete with the training step for cores.
/// -> float [B, C', S, S].
torch::Tensor gather_transformed(const torch::Tensor& images, const std::vector<int64_t>& indices,
                                 const std::vector<float>& mean, const std::vector<float>& std,
                                 const TransformOptions& options, uint64_t seed);

}  // namespace frostnas
