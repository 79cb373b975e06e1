#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "trainer/data/image_dataset.h"

namespace frostnas {

/// Where the Debian package dataset-fashion-mnist installs the gzipped IDX files.
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads an IDX file of unsigned bytes (magic 0x0000080D, D = `ndim`), gzipped or
/// plain, into a uint8 tensor shaped like the file's dimensions. Throws InputError
/// naming the file and byte offset on a bad magic number, a zero dimension, a
/// truncated file or trailing bytes.
torch::Tensor read_idx_ubyte(const std::string& path, int64_t ndim);

/// Reads an IDX image file [N, H, W] and label file [N] into a data set with
/// images uint8 [N, 1, H, W] and labels int64 [N]; labels must be < num_classes
/// and the counts must agree.
ImageDataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                              int64_t num_classes, const std::string& name);

/// Fashion-MNIST (`train`: 60000, else 10000 images of 1x28x28, 10 classes) from
/// `dir`, files train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]. Mean and std
/// are the published training-set constants.
ImageDataset load_fashion_mnist(const std::string& dir, bool train);

}  // namespace frostnas
