#include "trainer/data/image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace frostnas {

namespace {

/// One TurboJPEG decompressor per thread (handles are not thread-safe).
struct TjHandle {
  tjhandle handle = tjInitDecompress();
  ~TjHandle() {
    if (handle != nullptr) tjDestroy(handle);
  }
  /// A handle that failed on a corrupt file can fail the next, valid one (libjpeg-turbo
  /// 2.1 leaves its Huffman state behind): it is replaced after every failure.
  void renew() {
    if (handle != nullptr) tjDestroy(handle);
    handle = tjInitDecompress();
  }
};

TjHandle& thread_tj_handle() {
  thread_local TjHandle h;
  return h;
}

DecodeResult failure(DecodeStatus status, std::string message) {
  return {status, std::move(message)};
}

bool too_small(int64_t w, int64_t h, const DecodeOptions& o) {
  return std::min(w, h) * o.max_upscale() < o.size();
}

DecodeResult too_small_result(int64_t w, int64_t h, const DecodeOptions& o) {
  return failure(DecodeStatus::kTooSmall,
                 "image too small (" + std::to_string(w) + "x" + std::to_string(h) +
                     "; the shorter side must be at least " +
                     std::to_string((o.size() + o.max_upscale() - 1) / o.max_upscale()) +
                     " pixels for size " + std::to_string(o.size()) + ")");
}

/// The smallest TurboJPEG scaling factor (<= 1) that keeps the shorter side at or
/// above `size`: the rest of the reduction is left to the antialiased resize.
tjscalingfactor pick_scaling(int w, int h, int64_t size) {
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor best{1, 1};
  int64_t best_short = std::min(w, h);
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num > f.denom) continue;
    const int64_t s = std::min(TJSCALED(w, f), TJSCALED(h, f));
    if (s >= size && s < best_short) {
      best = f;
      best_short = s;
    }
  }
  return best;
}

DecodeResult decode_jpeg(const uint8_t* bytes, size_t length, const DecodeOptions& o,
                         uint8_t* out) {
  TjHandle& handle = thread_tj_handle();
  tjhandle tj = handle.handle;
  if (tj == nullptr) return failure(DecodeStatus::kCorrupt, "cannot create a JPEG decoder");
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, bytes, static_cast<unsigned long>(length), &w, &h, &subsamp,
                          &colorspace) != 0) {
    const std::string message = std::string("corrupt JPEG header (") + tjGetErrorStr2(tj) + ")";
    handle.renew();
    return failure(DecodeStatus::kCorrupt, message);
  }
  if (too_small(w, h, o)) return too_small_result(w, h, o);
  const tjscalingfactor f = pick_scaling(w, h, o.size());
  const int sw = TJSCALED(w, f), sh = TJSCALED(h, f);
  const int c = static_cast<int>(o.channels());
  std::vector<uint8_t> pixels(static_cast<size_t>(sw) * sh * c);
  if (tjDecompress2(tj, bytes, static_cast<unsigned long>(length), pixels.data(), sw, 0, sh,
                    c == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
    const std::string message =
        std::string("corrupt or truncated JPEG (") + tjGetErrorStr2(tj) + ")";
    handle.renew();
    return failure(DecodeStatus::kCorrupt, message);
  }
  resize_center_crop(pixels.data(), sw, sh, c, o.size(), out);
  return {};
}

/// RGB -> gray (BT.601 luma, as a JPEG's Y channel) or gray -> RGB, in place order.
std::vector<uint8_t> convert_channels(std::vector<uint8_t> px, int64_t from, int64_t to) {
  if (from == to) return px;
  const size_t n = px.size() / from;
  std::vector<uint8_t> out(n * to);
  for (size_t i = 0; i < n; ++i) {
    if (to == 1) {
      const uint8_t* p = &px[3 * i];
      out[i] = static_cast<uint8_t>((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + 32768) >> 16);
    } else {
      std::fill_n(&out[3 * i], 3, px[i]);
    }
  }
  return out;
}

DecodeResult decode_png(const uint8_t* bytes, size_t length, const DecodeOptions& o, uint8_t* out) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes, length)) {
    const std::string message = image.message;
    png_image_free(&image);
    return failure(DecodeStatus::kCorrupt, "corrupt PNG header (" + message + ")");
  }
  const int64_t w = image.width, h = image.height;
  if (too_small(w, h, o)) {
    png_image_free(&image);
    return too_small_result(w, h, o);
  }
  const int64_t source_channels = (image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  image.format = source_channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  // Zeroed: an alpha channel is composited onto black.
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image), 0);
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    return failure(DecodeStatus::kCorrupt, "corrupt or truncated PNG (" + message + ")");
  }
  png_image_free(&image);
  pixels = convert_channels(std::move(pixels), source_channels, o.channels());
  resize_center_crop(pixels.data(), w, h, o.channels(), o.size(), out);
  return {};
}

/// Source taps of each output pixel of one axis: `first[i]` and `count` weights
/// starting at weights[i * count].
struct AxisFilter {
  std::vector<int64_t> first;
  std::vector<float> weights;
  int64_t count = 0;
};

/// Output pixel i of `out` maps to source coordinate (i + offset + 0.5) / scale - 0.5.
AxisFilter axis_filter(int64_t in, int64_t out, int64_t offset, double scale) {
  const double support = std::max(1.0, 1.0 / scale);  // triangle radius in source pixels
  AxisFilter f;
  f.count = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  f.first.resize(out);
  f.weights.assign(out * f.count, 0.0f);
  for (int64_t i = 0; i < out; ++i) {
    const double center = (i + offset + 0.5) / scale;  // in source pixel-edge units
    int64_t lo = static_cast<int64_t>(std::floor(center - support));
    lo = std::clamp<int64_t>(lo, 0, std::max<int64_t>(in - f.count, 0));
    f.first[i] = lo;
    double total = 0;
    for (int64_t k = 0; k < f.count && lo + k < in; ++k) {
      const double t = (lo + k + 0.5 - center) / support;
      const double wgt = std::max(0.0, 1.0 - std::abs(t));
      f.weights[i * f.count + k] = static_cast<float>(wgt);
      total += wgt;
    }
    if (total <= 0) {  // a centre outside the image: take the nearest edge pixel
      const int64_t nearest = std::clamp<int64_t>(static_cast<int64_t>(center), 0, in - 1);
      f.first[i] = std::min(nearest, std::max<int64_t>(in - f.count, 0));
      f.weights[i * f.count + (nearest - f.first[i])] = 1.0f;
      total = 1;
    }
    for (int64_t k = 0; k < f.count; ++k) f.weights[i * f.count + k] /= static_cast<float>(total);
  }
  return f;
}

}  // namespace

void check_decode_options(const DecodeOptions& o) {
  if (o.size() < 1 || o.size() > 4096)
    throw InputError("image size " + std::to_string(o.size()) + " out of range (allowed 1..4096)");
  if (o.channels() != 1 && o.channels() != 3)
    throw InputError("image channels " + std::to_string(o.channels()) +
                     " not supported (allowed 1 (gray) or 3 (RGB))");
  if (o.max_upscale() < 1)
    throw InputError("max_upscale " + std::to_string(o.max_upscale()) + " must be >= 1");
}

void resize_center_crop(const uint8_t* src, int64_t w, int64_t h, int64_t c, int64_t size,
                        uint8_t* out) {
  const int64_t plane = size * size;
  if (w == size && h == size) {
    for (int64_t i = 0; i < plane; ++i)
      for (int64_t ch = 0; ch < c; ++ch) out[ch * plane + i] = src[i * c + ch];
    return;
  }
  // Shorter side -> size, longer side scaled alike (truncated as torchvision does).
  const int64_t rw = w <= h ? size : w * size / h;
  const int64_t rh = h <= w ? size : h * size / w;
  const int64_t x0 = std::llround((rw - size) / 2.0), y0 = std::llround((rh - size) / 2.0);
  const AxisFilter fx = axis_filter(w, size, x0, static_cast<double>(rw) / w);
  const AxisFilter fy = axis_filter(h, size, y0, static_cast<double>(rh) / h);
  const int64_t row_lo = fy.first.front();
  const int64_t row_hi = std::min(h, fy.first.back() + fy.count);
  // Horizontal pass over the source rows the crop needs, then the vertical pass.
  std::vector<float> tmp((row_hi - row_lo) * size * c);
  for (int64_t y = row_lo; y < row_hi; ++y) {
    const uint8_t* row = src + y * w * c;
    float* t = &tmp[(y - row_lo) * size * c];
    for (int64_t x = 0; x < size; ++x) {
      const float* wt = &fx.weights[x * fx.count];
      const int64_t n = std::min(fx.count, w - fx.first[x]);
      for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* p = row + fx.first[x] * c + ch;
        float acc = 0;
        for (int64_t k = 0; k < n; ++k) acc += wt[k] * p[k * c];
        t[x * c + ch] = acc;
      }
    }
  }
  for (int64_t y = 0; y < size; ++y) {
    const float* wt = &fy.weights[y * fy.count];
    const int64_t n = std::min(fy.count, h - fy.first[y]);
    for (int64_t x = 0; x < size; ++x) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* t = &tmp[(fy.first[y] - row_lo) * size * c + x * c + ch];
        float acc = 0;
        for (int64_t k = 0; k < n; ++k) acc += wt[k] * t[k * size * c];
        out[ch * plane + y * size + x] =
            static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
    }
  }
}

DecodeResult decode_image(const uint8_t* bytes, size_t length, const DecodeOptions& o,
                          uint8_t* out) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
    return decode_jpeg(bytes, length, o, out);
  if (length >= 8 && std::memcmp(bytes, kPng, 8) == 0) return decode_png(bytes, length, o, out);
  return failure(DecodeStatus::kNotAnImage,
                 length == 0 ? "empty file (not an image)"
                             : "not a JPEG or PNG image (unknown leading bytes)");
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(path + ": cannot open (no such file or no permission)");
  const std::streamoff size = in.tellg();
  std::vector<uint8_t> bytes(size > 0 ? static_cast<size_t>(size) : 0);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw InputError(path + ": read failed");
  return bytes;
}

torch::Tensor decode_image_file(const std::string& path, const DecodeOptions& options) {
  check_decode_options(options);
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  torch::Tensor out =
      torch::empty({options.channels(), options.size(), options.size()}, torch::kUInt8);
  const DecodeResult r = decode_image(bytes.data(), bytes.size(), options, out.data_ptr<uint8_t>());
  if (r.status != DecodeStatus::kOk) throw InputError(path + ": " + r.message);
  return out;
}

}  // namespace frostnas
