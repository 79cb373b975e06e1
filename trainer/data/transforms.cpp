#include "trainer/data/transforms.h"

#include <random>

#include "space/error.h"

namespace frostnas {

void check_transform(const TransformOptions& o, int64_t in_channels) {
  if (o.pad() < 0) throw InputError("transform: pad " + std::to_string(o.pad()) + " must be >= 0");
  if (o.size() < 0) {
    throw InputError("transform: size " + std::to_string(o.size()) + " must be >= 0 (0 keeps)");
  }
  if (o.channels() < 0) {
    throw InputError("transform: channels " + std::to_string(o.channels()) + " must be >= 0");
  }
  if (o.channels() != 0 && o.channels() != in_channels && in_channels != 1) {
    throw InputError("transform: channels " + std::to_string(o.channels()) + " for " +
                     std::to_string(in_channels) + "-channel images (allowed 0 or " +
                     std::to_string(in_channels) + ")");
  }
}

torch::Tensor random_crop_flip(const torch::Tensor& images, int64_t pad, bool flip, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "random_crop_flip: expected uint8 [B, C, H, W], got ", images.sizes());
  if (pad == 0 && !flip) return images;
  const torch::Tensor in = images.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty_like(in);
  const int64_t b = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  const uint8_t* src = in.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < b; ++i) {
    // Crop window (dy, dx) of the padded image, then flip the crop:
    // out[y][x] = padded[y + dy][(flip ? w - 1 - x : x) + dx].
    const int64_t dy = pad ? static_cast<int64_t>(rng() % (2 * pad + 1)) - pad : 0;
    const int64_t dx = pad ? static_cast<int64_t>(rng() % (2 * pad + 1)) - pad : 0;
    const bool mirror = flip && (rng() & 1);
    for (int64_t ch = 0; ch < c; ++ch, src += h * w) {
      for (int64_t y = 0; y < h; ++y, dst += w) {
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= h) {
          std::fill(dst, dst + w, uint8_t{0});
          continue;
        }
        const uint8_t* row = src + sy * w;
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = (mirror ? w - 1 - x : x) + dx;
          dst[x] = sx >= 0 && sx < w ? row[sx] : uint8_t{0};
        }
      }
    }
  }
  return out.to(images.device());
}

torch::Tensor images_to_input(const torch::Tensor& images, const std::vector<float>& mean,
                              const std::vector<float>& std, const TransformOptions& o) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "images_to_input: expected uint8 [B, C, H, W], got ", images.sizes());
  const int64_t c = images.size(1);
  torch::Tensor x = images.to(torch::kFloat).div_(255.0);
  if (o.normalize()) {
    TORCH_CHECK(static_cast<int64_t>(mean.size()) == c && static_cast<int64_t>(std.size()) == c,
                "images_to_input: need ", c, " mean/std values, got ", mean.size(), "/",
                std.size());
    const auto shape = std::vector<int64_t>{1, c, 1, 1};
    x.sub_(torch::tensor(mean).view(shape).to(x.device()))
        .div_(torch::tensor(std).view(shape).to(x.device()));
  }
  if (o.size() > 0 && (o.size() != x.size(2) || o.size() != x.size(3))) {
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{o.size(), o.size()})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  }
  if (o.channels() > 0 && o.channels() != c) {
    TORCH_CHECK(c == 1, "images_to_input: cannot make ", o.channels(), " channels out of ", c);
    x = x.expand({x.size(0), o.channels(), x.size(2), x.size(3)}).contiguous();
  }
  return x;
}

torch::Tensor apply_transform(const torch::Tensor& images, const std::vector<float>& mean,
                              const std::vector<float>& std, const TransformOptions& options,
                              uint64_t seed) {
  return images_to_input(random_crop_flip(images, options.pad(), options.flip(), seed), mean, std,
                         options);
}

}  // namespace frostnas
