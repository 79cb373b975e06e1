#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/net_spec.h"
#include "trainer/data/image_dataset.h"
#include "trainer/data/transforms.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_model.h"

namespace frostnas {

/// File names of a training output directory.
constexpr const char* kMetricsFile = "metrics.json";
constexpr const char* kArchFile = "arch.json";
constexpr const char* kQatCheckpointFile = "qat_checkpoint.pt";
constexpr const char* kInt8Dir = "int8";
constexpr const char* kInputFile = "input.json";
constexpr const char* kRunFile = "run.json";
constexpr const char* kResumeDir = "resume";

/// How images of a data set become the network's input: the normalisation statistics of
/// the training set and the resize / channel replication (no augmentation).
struct InputInfo {
  std::string dataset;
  std::vector<float> mean;
  std::vector<float> std;
  TransformOptions transform;  ///< pad 0, no flip
  /// Class names by output index (image-file sets); empty when the data set has none.
  /// input.json holds them as "class_names" only when there are some.
  std::vector<std::string> class_names;
};

nlohmann::json to_json(const InputInfo& info);
/// Reads `dir/input.json`. Throws InputError naming the file and field.
InputInfo load_input_info(const std::string& dir);

/// A metric as it is written to metrics.json and the store: its value, or null when it is
/// not finite (NaN: not computed).
nlohmann::json metric_json(double v);
/// Throws InputError naming `source` when `info` and `data` both name their classes
/// and the names differ (a model evaluated on another data set's classes).
void check_class_names(const InputInfo& info, const ImageDataset& data, const std::string& source);

/// metrics.json: accuracies (top level: the reported split; `val` and `test` objects),
/// losses, per-epoch history, train_seconds, images_per_second, flags (diverged,
/// interrupted, budget_exhausted), the architecture, its hash, parameters and MACs, the
/// weight scheme ("weight_quant": per_channel or per_tensor), the full TrainConfig and `extra`
/// (data set, split sizes, ... from the caller).
nlohmann::json metrics_json(const TrainResult& result, const NetSpec& spec,
                            const TrainConfig& config, const nlohmann::json& extra = {});

/// Writes into `dir` (created): arch.json, qat_checkpoint.pt (the final QAT network, via
/// save_qat_checkpoint; not when diverged), int8/ (save_int8_model, when result.int8 is set,
/// with a copy of input.json so that the INT8 directory alone carries the normalisation and
/// class names), input.json and metrics.json last (each file atomically).
void save_train_artifacts(const TrainResult& result, const NetSpec& spec, const TrainConfig& config,
                          const InputInfo& input, const std::string& dir,
                          const nlohmann::json& extra = {});

}  // namespace frostnas
