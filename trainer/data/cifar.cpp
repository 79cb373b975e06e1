#include "trainer/data/cifar.h"

#include <cstring>

#include "trainer/data/data_file.h"

namespace frostnas {

namespace {

constexpr int64_t kCifarPixels = 3 * 32 * 32;
constexpr int64_t kCifar100Coarse = 20;

}  // namespace

ImageDataset read_cifar_files(const std::vector<std::string>& paths, int64_t label_bytes,
                              int64_t num_classes, const std::string& name) {
  TORCH_CHECK(label_bytes == 1 || label_bytes == 2, "read_cifar_files: label_bytes must be 1 or 2");
  const int64_t record = label_bytes + kCifarPixels;
  std::vector<std::vector<uint8_t>> files;
  int64_t total = 0;
  for (const std::string& path : paths) {
    files.push_back(read_data_file(path));
    const int64_t size = static_cast<int64_t>(files.back().size());
    if (size == 0) throw data_file_error(path, 0, "empty file (no records)");
    if (size % record != 0) {
      throw data_file_error(path, size - size % record,
                            "truncated record (expected " + std::to_string(record) +
                                " bytes per record, " + std::to_string(size % record) + " left)");
    }
    total += size / record;
  }
  torch::Tensor images = torch::empty({total, 3, 32, 32}, torch::kUInt8);
  torch::Tensor labels = torch::empty({total}, torch::kInt64);
  uint8_t* image = images.data_ptr<uint8_t>();
  int64_t* label = labels.data_ptr<int64_t>();
  for (size_t f = 0; f < files.size(); ++f) {
    const std::vector<uint8_t>& bytes = files[f];
    for (size_t at = 0; at < bytes.size(); at += record) {
      const int64_t fine = bytes[at + label_bytes - 1];
      const int64_t coarse = bytes[at];
      if (label_bytes == 2 && coarse >= kCifar100Coarse) {
        throw data_file_error(paths[f], at,
                              "coarse label " + std::to_string(coarse) +
                                  " out of range (allowed 0.." +
                                  std::to_string(kCifar100Coarse - 1) + ")");
      }
      if (fine >= num_classes) {
        throw data_file_error(paths[f], at + label_bytes - 1,
                              "label " + std::to_string(fine) + " out of range (allowed 0.." +
                                  std::to_string(num_classes - 1) + ")");
      }
      *label++ = fine;
      std::memcpy(image, bytes.data() + at + label_bytes, kCifarPixels);
      image += kCifarPixels;
    }
  }
  ImageDataset data;
  data.images = images;
  data.labels = labels;
  data.num_classes = num_classes;
  data.name = name;
  return data;
}

ImageDataset load_cifar10(const std::string& dir, bool train) {
  std::vector<std::string> paths;
  if (train) {
    for (int i = 1; i <= 5; ++i) {
      paths.push_back(find_data_file(dir, "data_batch_" + std::to_string(i) + ".bin"));
    }
  } else {
    paths.push_back(find_data_file(dir, "test_batch.bin"));
  }
  ImageDataset data = read_cifar_files(paths, 1, 10, "cifar10");
  data.mean = {0.4914f, 0.4822f, 0.4465f};
  data.std = {0.2470f, 0.2435f, 0.2616f};
  return data;
}

ImageDataset load_cifar100(const std::string& dir, bool train) {
  ImageDataset data =
      read_cifar_files({find_data_file(dir, train ? "train.bin" : "test.bin")}, 2, 100, "cifar100");
  data.mean = {0.5071f, 0.4865f, 0.4409f};
  data.std = {0.2673f, 0.2564f, 0.2762f};
  return data;
}

}  // namespace frostnas
