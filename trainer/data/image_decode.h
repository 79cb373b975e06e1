#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace frostnas {

/// How an image file becomes one uint8 [channels, size, size] sample: decode
/// (JPEG with TurboJPEG, PNG with libpng), convert to gray or RGB, resize the
/// shorter side to `size` (antialiased bilinear) and crop the centre square, as
/// torchvision's Resize(size) + CenterCrop(size) do.
struct DecodeOptions {
  /// Output height = width in pixels.
  TORCH_ARG(int64_t, size) = 32;
  /// 1 (gray: ITU-R BT.601 luma) or 3 (RGB; gray images are replicated).
  TORCH_ARG(int64_t, channels) = 3;
  /// An image whose shorter side times this is below `size` is refused as too
  /// small (it would be enlarged more than this).
  TORCH_ARG(int64_t, max_upscale) = 4;
};

/// Why an image could not be decoded.
enum class DecodeStatus { kOk, kNotAnImage, kCorrupt, kTooSmall };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::kOk;
  std::string message;  ///< what is wrong (without the file name); empty when ok
};

/// Throws InputError unless size is 1..4096, channels 1 or 3 and max_upscale >= 1.
void check_decode_options(const DecodeOptions& options);

/// Decodes the JPEG or PNG file content `bytes` (the format is told by its first
/// bytes, not the file name) into `out`, which holds channels * size * size bytes
/// in [C, H, W] order. A JPEG much larger than `size` is downscaled in the DCT
/// domain first (TurboJPEG scaling factors), then resized. A libjpeg warning (a
/// truncated or damaged stream) counts as corrupt. Thread-safe; never throws on
/// bad content.
DecodeResult decode_image(const uint8_t* bytes, size_t length, const DecodeOptions& options,
                          uint8_t* out);

/// The whole content of the file at `path`; throws InputError naming it when it
/// cannot be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// decode_image of the file at `path` as uint8 [C, S, S]; throws InputError
/// "<path>: <message>" when it cannot be read or decoded.
torch::Tensor decode_image_file(const std::string& path, const DecodeOptions& options);

/// Resizes interleaved uint8 [h, w, channels] pixels so that the shorter side is
/// `size` (triangle filter widened by the reduction factor, so a downscale
/// averages every source pixel) and writes the centre size x size square as
/// [channels, size, size] to `out`.
void resize_center_crop(const uint8_t* src, int64_t width, int64_t height, int64_t channels,
                        int64_t size, uint8_t* out);

}  // namespace frostnas
