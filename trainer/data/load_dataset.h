#pragma once

#include <string>
#include <vector>

#include "trainer/data/image_dataset.h"

namespace frostnas {

/// Names load_dataset knows: fashion-mnist, cifar10, cifar100, synthetic.
std::vector<std::string> dataset_names();

/// Directory used when load_dataset gets an empty `dir` (empty for synthetic).
std::string default_data_dir(const std::string& name);

/// Loads data set `name`, `split` "train" or "test", from `dir` (empty: the
/// default directory). "synthetic" is SyntheticOptions' default (1x28x28, 10
/// classes; 4096 train and 1024 test samples from the same templates). Throws
/// InputError on an unknown name or split (listing the known ones) and on a
/// missing or corrupt file (naming its path).
ImageDataset load_dataset(const std::string& name, const std::string& split,
                          const std::string& dir = "");

}  // namespace frostnas
