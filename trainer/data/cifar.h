#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trainer/data/image_dataset.h"

namespace frostnas {

/// Reads CIFAR binary files (gzipped or plain) of records [label bytes..., 3072
/// pixel bytes (R, G, B planes of 32x32)] in order. `label_bytes` is 1 (CIFAR-10)
/// or 2 (CIFAR-100: coarse, fine); the last label byte is used and must be
/// < num_classes, the coarse one < 20. Throws InputError naming the file and byte
/// offset on a truncated record or a label out of range.
ImageDataset read_cifar_files(const std::vector<std::string>& paths, int64_t label_bytes,
                              int64_t num_classes, const std::string& name);

/// CIFAR-10 from `dir` (cifar-10-batches-bin): data_batch_1..5.bin for `train`,
/// else test_batch.bin; images uint8 [N, 3, 32, 32], 10 classes.
ImageDataset load_cifar10(const std::string& dir, bool train);

/// CIFAR-100 from `dir` (cifar-100-binary): train.bin or test.bin, fine labels
/// (100 classes).
ImageDataset load_cifar100(const std::string& dir, bool train);

}  // namespace frostnas
