#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/load_dataset.h"

namespace frostnas {

/// Which images a run trains and validates on. The one meaning of the two sizes, shared by
/// `train`, `search`, `pipeline` and `cell-search`: `val_size` images are held out of the
/// data set's training file first (a seeded, class-stratified draw), then `train_subset`
/// images are taken from the remaining ones. The validation images therefore do not depend
/// on `train_subset`, and the same spec and seed give the same images everywhere.
struct DataSpec {
  std::string name = "fashion-mnist";
  std::string dir;           ///< empty: the data set's default directory
  int64_t train_subset = 0;  ///< training images; 0: every image not held out
  /// Validation images held out of the training file; 0: none; kAutoValSize: min(5000, N / 10).
  int64_t val_size = 5000;
  /// How `folder:` / `list:` sets are decoded: image_size and channels are set by the command
  /// from the network; `skip_bad_images` is the one JSON field (default false).
  DatasetOptions images;
};

class ConfigFields;
/// The JSON fields of a data object (common/config_fields.h): `name` (a known data set, or
/// `folder:PATH` / `list:FILE`), `dir`, `train_subset` >= 0, `val_size` >= 1 and
/// `skip_bad_images` (written only when true).
void config_fields(ConfigFields& f, DataSpec& spec);

/// Reads a data object `{name, dir, train_subset, val_size}` over `spec` (absent keys keep
/// spec's values). With `legacy_subset`, the key `subset` S of older cell-search files is also
/// accepted: train_subset S - S/2, val_size S/2. Throws InputError naming the file and JSON
/// path.
void read_data_spec(const JsonReader& d, DataSpec& spec, bool legacy_subset = false);

/// `spec` with its image files decoded to `size` x `size` and `channels` (the network's
/// input); the built-in sets ignore it.
DataSpec for_network_input(DataSpec spec, int64_t size, int64_t channels);

/// `{name, dir, train_subset, val_size}`, as read_data_spec reads it.
nlohmann::json to_json(const DataSpec& spec);

/// `DataSpec::val_size` value that asks for min(5000, N / 10) validation images.
constexpr int64_t kAutoValSize = -1;

/// The data of one run. `val` and `test` may be empty (size 0): they are then not
/// evaluated. Evaluation normalises every split with the training set's mean/std.
struct DataSplits {
  ImageDataset train;
  ImageDataset val;
  ImageDataset test;
  std::string train_digest;  ///< index_digest of `train`'s indices in the training file
  std::string val_digest;    ///< index_digest of `val`'s indices ("" when empty)
};

/// Indices into a training file: the images of each part, in ascending order.
struct SplitIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> val;
};

/// The split rule of DataSpec on a training file of `data`'s labels: one seeded stratified
/// order of all images (stratified_order), validation its first `val_size` entries, training
/// the next `train_subset` (or all the rest). Throws InputError, naming `source` and the
/// field, when the sizes do not fit the file or leave no training image.
SplitIndices split_indices(const ImageDataset& data, int64_t train_subset, int64_t val_size,
                           uint64_t seed, const std::string& source = "data");

/// Loads `spec`'s training file (and its test file when `with_test`) and splits it with
/// split_indices. Throws InputError on a bad name, missing file or sizes that do not fit.
DataSplits make_splits(const DataSpec& spec, uint64_t seed, bool with_test = false,
                       const std::string& source = "data");

/// A 16-hex-digit FNV-1a digest of an index list: equal digests mean (with overwhelming
/// probability) the same images, so runs can record and compare what they trained on.
std::string index_digest(const std::vector<int64_t>& indices);

}  // namespace frostnas
