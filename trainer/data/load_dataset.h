#pragma once

#include <string>
#include <vector>

#include "trainer/data/image_dataset.h"

namespace frostnas {

/// Names load_dataset knows: fashion-mnist, cifar10, cifar100, synthetic; besides
/// them it reads image files named `folder:PATH` and `list:FILE` (see image_folder.h).
std::vector<std::string> dataset_names();

/// dataset_names() and the two image-file forms, for help and error texts.
std::string dataset_name_help();

/// Whether `name` is an image-file data set (`folder:PATH` or `list:FILE`).
bool is_image_file_dataset(const std::string& name);

/// Whether load_dataset knows `name`: a built-in name, or `folder:` / `list:` with a
/// non-empty path.
bool is_known_dataset(const std::string& name);

/// Throws InputError "<field>: unknown value ..." unless is_known_dataset(name).
void check_dataset_name(const std::string& name, const std::string& field);

/// The message check_dataset_name uses after "<field>: ".
std::string unknown_dataset_message(const std::string& name);

/// Directory used when load_dataset gets an empty `dir` (empty for synthetic and
/// image-file sets).
std::string default_data_dir(const std::string& name);

/// How an image-file data set is decoded (ignored by the built-in sets).
struct DatasetOptions {
  /// Decoded height = width (resize shorter side, centre crop); 0: 32.
  TORCH_ARG(int64_t, image_size) = 0;
  /// 1 (gray) or 3 (RGB); 0: 3.
  TORCH_ARG(int64_t, channels) = 0;
  /// Leave bad images out (counted on stderr) instead of refusing the set.
  TORCH_ARG(bool, skip_bad_images) = false;
  /// Decoded-cache folder; empty: default_image_cache_dir().
  TORCH_ARG(std::string, cache_dir) = "";
};

/// Loads data set `name`, `split` "train" or "test", from `dir` (empty: the
/// default directory). "synthetic" is SyntheticOptions' default (1x28x28, 10
/// classes; 4096 train and 1024 test samples from the same templates).
/// `folder:PATH` and `list:FILE` decode image files as `options` say, through the
/// decoded cache, with class names and mean/std of the split's images. Throws
/// InputError on an unknown name or split (listing the known ones) and on a
/// missing or corrupt file (naming its path).
ImageDataset load_dataset(const std::string& name, const std::string& split,
                          const std::string& dir = "", const DatasetOptions& options = {});

}  // namespace frostnas
