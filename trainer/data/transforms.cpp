#include "trainer/data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "common/config_fields.h"
#include "common/error.h"
#include "common/random.h"

namespace frostnas {

void config_fields(ConfigFields& f, TransformOptions& t) {
  f.integer("pad", t.pad());
  f.flag("flip", t.flip());
  f.number("crop_scale", t.crop_scale(), NumberRange::closed(0.0, 1.0), FieldRule::kUnlessDefault);
  f.flag("normalize", t.normalize());
  f.integer("size", t.size());
  f.integer("channels", t.channels());
}

void check_transform(const TransformOptions& o, int64_t in_channels) {
  if (o.pad() < 0) throw InputError("transform: pad " + std::to_string(o.pad()) + " must be >= 0");
  if (o.size() < 0) {
    throw InputError("transform: size " + std::to_string(o.size()) + " must be >= 0 (0 keeps)");
  }
  if (!(o.crop_scale() >= 0.0 && o.crop_scale() <= 1.0)) {
    throw InputError("transform: crop_scale " + std::to_string(o.crop_scale()) +
                     " out of range (allowed 0 (off) or (0, 1])");
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

namespace {

/// The crop offsets and flip of one image, drawn as random_crop_flip draws them.
struct CropFlip {
  int64_t dy = 0;
  int64_t dx = 0;
  bool mirror = false;
};

CropFlip draw_crop_flip(std::mt19937_64& rng, int64_t pad, bool flip) {
  CropFlip c;
  c.dy = pad ? static_cast<int64_t>(rng() % (2 * pad + 1)) - pad : 0;
  c.dx = pad ? static_cast<int64_t>(rng() % (2 * pad + 1)) - pad : 0;
  c.mirror = flip && (rng() & 1);
  return c;
}

}  // namespace

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
    const auto [dy, dx, mirror] = draw_crop_flip(rng, pad, flip);
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

namespace {

/// Uniform in [0, 1) from the top 53 bits (portable, unlike std::uniform_real_distribution).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// Bilinear resize of the window (y0, x0, h, w) of each channel plane to the full plane.
void resize_window(const uint8_t* src, uint8_t* dst, int64_t c, int64_t height, int64_t width,
                   int64_t y0, int64_t x0, int64_t h, int64_t w) {
  const double sy = static_cast<double>(h) / height, sx = static_cast<double>(w) / width;
  for (int64_t ch = 0; ch < c; ++ch, src += height * width) {
    for (int64_t y = 0; y < height; ++y) {
      const double fy = std::clamp(y0 + (y + 0.5) * sy - 0.5, 0.0, height - 1.0);
      const int64_t ya = static_cast<int64_t>(fy), yb = std::min(ya + 1, height - 1);
      const double wy = fy - ya;
      for (int64_t x = 0; x < width; ++x, ++dst) {
        const double fx = std::clamp(x0 + (x + 0.5) * sx - 0.5, 0.0, width - 1.0);
        const int64_t xa = static_cast<int64_t>(fx), xb = std::min(xa + 1, width - 1);
        const double wx = fx - xa;
        const double top = src[ya * width + xa] * (1 - wx) + src[ya * width + xb] * wx;
        const double bottom = src[yb * width + xa] * (1 - wx) + src[yb * width + xb] * wx;
        *dst = static_cast<uint8_t>(std::lround(top * (1 - wy) + bottom * wy));
      }
    }
  }
}

}  // namespace

torch::Tensor random_resized_crop(const torch::Tensor& images, double min_scale, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "random_resized_crop: expected uint8 [B, C, H, W], got ", images.sizes());
  if (min_scale <= 0.0) return images;
  const torch::Tensor in = images.to(torch::kCPU).contiguous();
  torch::Tensor out = torch::empty_like(in);
  const int64_t b = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  std::mt19937_64 rng(seed);
  const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
  for (int64_t i = 0; i < b; ++i) {
    int64_t y0 = 0, x0 = 0, ch = h, cw = w;  // the whole image when no draw fits
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double area = h * w * (min_scale + (1.0 - min_scale) * uniform01(rng));
      const double ratio = std::exp(log_lo + (log_hi - log_lo) * uniform01(rng));
      const int64_t tw = std::llround(std::sqrt(area * ratio));
      const int64_t th = std::llround(std::sqrt(area / ratio));
      if (tw >= 1 && th >= 1 && tw <= w && th <= h) {
        y0 = static_cast<int64_t>(rng() % (h - th + 1));
        x0 = static_cast<int64_t>(rng() % (w - tw + 1));
        ch = th;
        cw = tw;
        break;
      }
    }
    resize_window(in[i].data_ptr<uint8_t>(), out[i].data_ptr<uint8_t>(), c, h, w, y0, x0, ch, cw);
  }
  return out.to(images.device());
}

TransformOptions without_augmentation(TransformOptions options) {
  return options.pad(0).flip(false).crop_scale(0.0);
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
  // The crop draws from its own stream, so runs without it keep their pad/flip draws.
  const torch::Tensor cropped =
      random_resized_crop(images, options.crop_scale(), mix_seed(seed, 0x5243));
  return images_to_input(random_crop_flip(cropped, options.pad(), options.flip(), seed), mean, std,
                         options);
}

torch::Tensor gather_transformed(const torch::Tensor& images, const std::vector<int64_t>& indices,
                                 const std::vector<float>& mean, const std::vector<float>& std,
                                 const TransformOptions& o, uint64_t seed) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8 && images.is_cpu() &&
                  images.is_contiguous(),
              "gather_transformed: expected contiguous CPU uint8 [N, C, H, W], got ",
              images.sizes());
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const bool resizes = o.size() > 0 && (o.size() != h || o.size() != w);
  const bool replicates = o.channels() > 0 && o.channels() != c;
  if (resizes || replicates) {
    const auto idx = torch::tensor(indices, torch::kInt64);
    return apply_transform(images.index_select(0, idx), mean, std, o, seed);
  }
  TORCH_CHECK(!o.normalize() ||
                  (static_cast<int64_t>(mean.size()) == c && static_cast<int64_t>(std.size()) == c),
              "gather_transformed: need ", c, " mean/std values, got ", mean.size(), "/",
              std.size());
  // The same float operations as images_to_input, once per byte value.
  std::vector<std::array<float, 256>> table(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v) / 255.0f;
      if (o.normalize()) x = (x - mean[ch]) / std[ch];
      table[ch][v] = x;
    }
  }
  const int64_t b = static_cast<int64_t>(indices.size());
  torch::Tensor out = torch::empty({b, c, h, w}, torch::kFloat);
  const uint8_t* base = images.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  std::mt19937_64 rng(seed);
  const bool augment = o.pad() != 0 || o.flip();
  for (int64_t i = 0; i < b; ++i) {
    TORCH_CHECK(indices[i] >= 0 && indices[i] < n, "gather_transformed: index ", indices[i],
                " out of range for ", n, " images");
    const CropFlip cf = augment ? draw_crop_flip(rng, o.pad(), o.flip()) : CropFlip{};
    const uint8_t* src = base + indices[i] * c * h * w;
    for (int64_t ch = 0; ch < c; ++ch, src += h * w) {
      const float* lut = table[ch].data();
      for (int64_t y = 0; y < h; ++y, dst += w) {
        const int64_t sy = y + cf.dy;
        if (sy < 0 || sy >= h) {
          std::fill(dst, dst + w, lut[0]);
          continue;
        }
        const uint8_t* row = src + sy * w;
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = (cf.mirror ? w - 1 - x : x) + cf.dx;
          dst[x] = lut[sx >= 0 && sx < w ? row[sx] : 0];
        }
      }
    }
  }
  return out;
}

}  // namespace frostnas
