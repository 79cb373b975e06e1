#include "trainer/data/splits.h"

#include <algorithm>
#include <cstdint>

#include "common/config_fields.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/random.h"
#include "trainer/data/load_dataset.h"

namespace frostnas {

namespace {

// Keeps the split's draw apart from every other use of the run's seed.
constexpr uint64_t kSplitStream = 0x5b17;

int64_t resolve_val_size(int64_t val_size, int64_t n) {
  return val_size == kAutoValSize ? std::min<int64_t>(5000, n / 10) : val_size;
}

}  // namespace

SplitIndices split_indices(const ImageDataset& data, int64_t train_subset, int64_t val_size,
                           uint64_t seed, const std::string& source) {
  const int64_t n = data.size();
  const int64_t val = resolve_val_size(val_size, n);
  if (val < 0 || val >= n) {
    throw InputError(source + ": val_size " + std::to_string(val_size) + " does not fit the " +
                     std::to_string(n) + " images of " + data.name +
                     " (allowed: -1 = min(5000, N/10), or 0.." + std::to_string(n - 1) + ")");
  }
  const int64_t rest = n - val;
  if (train_subset < 0 || train_subset > rest) {
    throw InputError(source + ": train_subset " + std::to_string(train_subset) + " exceeds the " +
                     std::to_string(rest) + " images of " + data.name +
                     " left after val_size (allowed: 0 = all of them, or 1.." +
                     std::to_string(rest) + ")");
  }
  const std::vector<int64_t> order = stratified_order(data, mix_seed(seed, kSplitStream));
  const int64_t train_end = val + (train_subset > 0 ? train_subset : rest);
  SplitIndices out;
  out.val.assign(order.begin(), order.begin() + val);
  out.train.assign(order.begin() + val, order.begin() + train_end);
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.train.begin(), out.train.end());
  return out;
}

DataSplits make_splits(const DataSpec& spec, uint64_t seed, bool with_test,
                       const std::string& source) {
  const ImageDataset full = load_dataset(spec.name, "train", spec.dir, spec.images);
  const SplitIndices indices = split_indices(full, spec.train_subset, spec.val_size, seed, source);
  DataSplits splits;
  splits.train = select_samples(full, indices.train);
  if (!indices.val.empty()) splits.val = select_samples(full, indices.val);
  if (with_test) splits.test = load_dataset(spec.name, "test", spec.dir, spec.images);
  splits.train_digest = index_digest(indices.train);
  splits.val_digest = indices.val.empty() ? "" : index_digest(indices.val);
  return splits;
}

void config_fields(ConfigFields& f, DataSpec& spec) {
  f.text("name", spec.name);
  f.check([&spec](const JsonReader& d) {
    if (!is_known_dataset(spec.name)) d.fail_at("name", unknown_dataset_message(spec.name));
  });
  f.text("dir", spec.dir);
  f.integer("train_subset", spec.train_subset, 0);
  f.integer("val_size", spec.val_size, 1);
  f.flag("skip_bad_images", spec.images.skip_bad_images(), FieldRule::kUnlessDefault);
}

namespace {

/// A data object of an older cell-search file: DataSpec's fields or `subset`.
struct LegacySubsetDataSpec {
  DataSpec* spec = nullptr;
};

void config_fields(ConfigFields& f, LegacySubsetDataSpec& legacy) {
  DataSpec& spec = *legacy.spec;
  config_fields(f, spec);
  f.custom(
      "subset",
      [&spec](const JsonReader& d) {
        if (!d.has("subset")) return;
        if (d.has("train_subset") || d.has("val_size"))
          d.fail_at("subset",
                    "cannot be combined with train_subset or val_size (allowed: one of them)");
        const int64_t subset = d.get_int("subset", 2, INT64_MAX);
        spec.train_subset = subset - subset / 2;
        spec.val_size = subset / 2;
      },
      [] { return nlohmann::json(); });
}

}  // namespace

void read_data_spec(const JsonReader& d, DataSpec& spec, bool legacy_subset) {
  if (legacy_subset) {
    LegacySubsetDataSpec legacy{&spec};
    read_config(d, legacy);
  } else {
    read_config(d, spec);
  }
}

nlohmann::json to_json(const DataSpec& spec) { return write_config(spec); }

DataSpec for_network_input(DataSpec spec, int64_t size, int64_t channels) {
  spec.images.image_size(size).channels(channels);
  return spec;
}

std::string index_digest(const std::vector<int64_t>& indices) {
  uint64_t h = kFnvOffsetBasis;
  for (const int64_t i : indices) {
    unsigned char bytes[8];  // little-endian, whatever the machine's byte order
    for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint64_t>(i) >> (8 * b) & 0xff;
    h = fnv1a(bytes, sizeof bytes, h);
  }
  return hex64(h);
}

}  // namespace frostnas
