#include "trainer/data/fashion_mnist.h"

#include <cstdio>
#include <cstring>

#include "trainer/data/data_file.h"

namespace frostnas {

namespace {

std::string hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", value);
  return buffer;
}

}  // namespace

torch::Tensor read_idx_ubyte(const std::string& path, int64_t ndim) {
  TORCH_CHECK(ndim >= 1 && ndim <= 4, "read_idx_ubyte: ndim must be 1..4, got ", ndim);
  const std::vector<uint8_t> bytes = read_data_file(path);
  const int64_t size = static_cast<int64_t>(bytes.size());
  const int64_t header = 4 + 4 * ndim;
  if (size < 4) throw data_file_error(path, size, "truncated IDX magic number (4 bytes)");
  auto be32 = [&](int64_t at) {
    return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 |
           uint32_t(bytes[at + 2]) << 8 | uint32_t(bytes[at + 3]);
  };
  const uint32_t expected_magic = 0x0800u | static_cast<uint32_t>(ndim);
  if (be32(0) != expected_magic) {
    throw data_file_error(path, 0,
                          "bad magic number " + hex32(be32(0)) + " (expected " +
                              hex32(expected_magic) + ": IDX unsigned bytes, " +
                              std::to_string(ndim) + " dimensions)");
  }
  if (size < header) {
    throw data_file_error(path, size,
                          "truncated IDX header (expected " + std::to_string(header) +
                              " bytes for " + std::to_string(ndim) + " dimensions)");
  }
  std::vector<int64_t> dims;
  int64_t count = 1;
  std::string shape;
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t dim = be32(4 + 4 * d);
    if (dim == 0) {
      throw data_file_error(path, 4 + 4 * d, "dimension " + std::to_string(d) + " is 0");
    }
    dims.push_back(dim);
    shape += (d ? "x" : "") + std::to_string(dim);
    // Saturate past the file size: a corrupt header must not overflow int64.
    count = count > size / dim ? size + 1 : count * dim;
  }
  if (header + count > size) {
    throw data_file_error(
        path, size,
        "truncated data (header declares " + shape + " = " +
            (count > size ? "more than " + std::to_string(size - header) : std::to_string(count)) +
            " bytes, the file holds " + std::to_string(size - header) + ")");
  }
  if (header + count < size) {
    throw data_file_error(path, header + count,
                          std::to_string(size - header - count) +
                              " unexpected bytes after the declared " + shape + " data");
  }
  torch::Tensor out = torch::empty(dims, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + header, static_cast<size_t>(count));
  return out;
}

ImageDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                              int64_t num_classes, const std::string& name) {
  const torch::Tensor images = read_idx_ubyte(images_path, 3);
  const torch::Tensor labels = read_idx_ubyte(labels_path, 1);
  if (labels.size(0) != images.size(0)) {
    throw InputError(labels_path + ": " + std::to_string(labels.size(0)) + " labels but " +
                     images_path + " holds " + std::to_string(images.size(0)) + " images");
  }
  const uint8_t* label = labels.data_ptr<uint8_t>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    if (label[i] >= num_classes) {
      throw data_file_error(labels_path, 8 + i,
                            "label " + std::to_string(label[i]) + " out of range (allowed 0.." +
                                std::to_string(num_classes - 1) + ")");
    }
  }
  ImageDataset data;
  data.images = images.unsqueeze(1);
  data.labels = labels.to(torch::kInt64);
  data.num_classes = num_classes;
  data.name = name;
  return data;
}

ImageDataset load_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_data_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_data_file(dir, prefix + "-labels-idx1-ubyte");
  ImageDataset data = read_idx_dataset(images_path, labels_path, 10, "fashion-mnist");
  if (data.height() != 28 || data.width() != 28) {
    throw data_file_error(images_path, 8,
                          "images are " + std::to_string(data.height()) + "x" +
                              std::to_string(data.width()) + " (Fashion-MNIST expects 28x28)");
  }
  data.mean = {0.2860f};
  data.std = {0.3530f};
  return data;
}

}  // namespace frostnas
