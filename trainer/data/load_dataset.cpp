#include "trainer/data/load_dataset.h"

#include <functional>
#include <map>

#include "common/error.h"
#include "common/json_reader.h"
#include "trainer/data/cifar.h"
#include "trainer/data/fashion_mnist.h"
#include "trainer/data/image_folder.h"
#include "trainer/data/synthetic.h"

namespace frostnas {

namespace {

struct DatasetEntry {
  std::string default_dir;
  std::function<ImageDataset(const std::string& dir, bool train)> load;
};

const std::map<std::string, DatasetEntry>& registry() {
  static const std::map<std::string, DatasetEntry> entries = {
      {"fashion-mnist", {kFashionMnistDir, load_fashion_mnist}},
      {"cifar10", {"data/cifar-10-batches-bin", load_cifar10}},
      {"cifar100", {"data/cifar-100-binary", load_cifar100}},
      {"synthetic",
       {"",
        [](const std::string&, bool train) {
          return make_synthetic(
              SyntheticOptions().count(train ? 4096 : 1024).sample_seed(train ? 1 : 2));
        }}},
  };
  return entries;
}

constexpr int64_t kDefaultImageSize = 32;

/// The path of `folder:PATH` / `list:FILE`.
std::string image_file_path(const std::string& name) { return name.substr(name.find(':') + 1); }

ImageDataset load_image_file_dataset(const std::string& name, const std::string& split,
                                     const DatasetOptions& o) {
  const std::string path = image_file_path(name);
  const ImageList list =
      name.rfind("folder:", 0) == 0 ? list_image_folder(path, split) : read_image_list(path, split);
  ImageSetOptions so;
  so.decode.size(o.image_size() > 0 ? o.image_size() : kDefaultImageSize)
      .channels(o.channels() > 0 ? o.channels() : 3);
  so.skip_bad_images = o.skip_bad_images();
  so.cache_dir = o.cache_dir();
  return load_image_set(list, so);
}

const DatasetEntry& entry(const std::string& name) {
  const auto it = registry().find(name);
  if (it == registry().end()) {
    throw InputError("unknown data set '" + name + "' (known: " + join_strings(dataset_names()) +
                     ")");
  }
  return it->second;
}

}  // namespace

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& [name, e] : registry()) names.push_back(name);
  return names;
}

std::string dataset_name_help() {
  return join_strings(dataset_names()) + ", folder:PATH, list:FILE";
}

bool is_image_file_dataset(const std::string& name) {
  return name.rfind("folder:", 0) == 0 || name.rfind("list:", 0) == 0;
}

bool is_known_dataset(const std::string& name) {
  return is_image_file_dataset(name) ? !image_file_path(name).empty() : registry().count(name) > 0;
}

std::string unknown_dataset_message(const std::string& name) {
  return "unknown value '" + name + "' (allowed: " + dataset_name_help() + ")";
}

void check_dataset_name(const std::string& name, const std::string& field) {
  if (!is_known_dataset(name)) throw InputError(field + ": " + unknown_dataset_message(name));
}

std::string default_data_dir(const std::string& name) {
  return is_image_file_dataset(name) ? "" : entry(name).default_dir;
}

ImageDataset load_dataset(const std::string& name, const std::string& split, const std::string& dir,
                          const DatasetOptions& options) {
  if (split != "train" && split != "test") {
    throw InputError(name + ": unknown split '" + split + "' (known: train, test)");
  }
  if (is_image_file_dataset(name)) {
    check_dataset_name(name, "data set");
    return load_image_file_dataset(name, split, options);
  }
  const DatasetEntry& e = entry(name);
  return e.load(dir.empty() ? e.default_dir : dir, split == "train");
}

}  // namespace frostnas
