#include "trainer/data/load_dataset.h"

#include <functional>
#include <map>

#include "common/error.h"
#include "common/json_reader.h"
#include "trainer/data/cifar.h"
#include "trainer/data/fashion_mnist.h"
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

std::string default_data_dir(const std::string& name) { return entry(name).default_dir; }

ImageDataset load_dataset(const std::string& name, const std::string& split,
                          const std::string& dir) {
  const DatasetEntry& e = entry(name);
  if (split != "train" && split != "test") {
    throw InputError(name + ": unknown split '" + split + "' (known: train, test)");
  }
  return e.load(dir.empty() ? e.default_dir : dir, split == "train");
}

}  // namespace frostnas
