#pragma once

// Writes small JPEG and PNG images for the image-file data set tests, with the
// same libraries the decoder uses.
#include <png.h>
#include <turbojpeg.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace frostnas::test {

/// Interleaved [h, w, c] pixels with value f(x, y, channel).
inline std::vector<uint8_t> make_pixels(int w, int h, int c,
                                        const std::function<uint8_t(int, int, int)>& f) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) px[(static_cast<size_t>(y) * w + x) * c + ch] = f(x, y, ch);
  return px;
}

/// A PNG of 1 (gray) or 3 (RGB) channels.
inline void write_png(const std::string& path, int w, int h, int c,
                      const std::vector<uint8_t>& px) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, path.c_str(), 0, px.data(), 0, nullptr))
    throw std::runtime_error(path + ": png write failed: " + image.message);
}

/// JPEG bytes (quality 95, 4:4:4 for RGB) of 1 or 3 channels.
inline std::vector<uint8_t> jpeg_bytes(int w, int h, int c, const std::vector<uint8_t>& px) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, px.data(), w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                  c == 1 ? TJSAMP_GRAY : TJSAMP_444, 95, 0) != 0)
    throw std::runtime_error(std::string("jpeg write failed: ") + tjGetErrorStr2(tj));
  std::vector<uint8_t> bytes(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return bytes;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_jpeg(const std::string& path, int w, int h, int c,
                       const std::vector<uint8_t>& px) {
  write_bytes(path, jpeg_bytes(w, h, c, px));
}

/// A solid image: every pixel `value` (per channel: value + 40 * channel).
inline std::vector<uint8_t> solid(int w, int h, int c, int value) {
  return make_pixels(w, h, c,
                     [&](int, int, int ch) { return static_cast<uint8_t>(value + 40 * ch); });
}

}  // namespace frostnas::test
