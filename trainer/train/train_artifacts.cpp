#include "trainer/train/train_artifacts.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/json_reader.h"
#include "space/resolved_net.h"
#include "trainer/int8/int8_artifact.h"
#include "trainer/quant/qat_checkpoint.h"

namespace frostnas {

namespace fs = std::filesystem;

namespace {

nlohmann::json to_json(const SplitAccuracy& a) {
  return {{"qat_acc", metric_json(a.qat_acc)},
          {"int8_acc", metric_json(a.int8_acc)},
          {"fp32_acc", metric_json(a.fp32_acc)},
          {"samples", a.samples}};
}

}  // namespace

nlohmann::json metric_json(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json to_json(const InputInfo& info) {
  nlohmann::json j = {{"format", "frostnas.input/1"},
                      {"dataset", info.dataset},
                      {"mean", info.mean},
                      {"std", info.std},
                      {"normalize", info.transform.normalize()},
                      {"size", info.transform.size()},
                      {"channels", info.transform.channels()}};
  if (!info.class_names.empty()) j["class_names"] = info.class_names;
  return j;
}

void check_class_names(const InputInfo& info, const ImageDataset& data, const std::string& source) {
  if (info.class_names.empty() || data.class_names.empty() || info.class_names == data.class_names)
    return;
  throw InputError(
      source + ": field 'class_names': the model knows " + std::to_string(info.class_names.size()) +
      " classes (" + join_strings(info.class_names) + "), " + data.name + " has " +
      std::to_string(data.class_names.size()) + " (" + join_strings(data.class_names) + ")");
}

InputInfo load_input_info(const std::string& dir) {
  const std::string path = (fs::path(dir) / kInputFile).string();
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open (no such file?)");
  InputInfo info;
  try {
    nlohmann::json j;
    in >> j;
    info.dataset = j.at("dataset").get<std::string>();
    info.mean = j.at("mean").get<std::vector<float>>();
    info.std = j.at("std").get<std::vector<float>>();
    info.transform.normalize(j.at("normalize").get<bool>());
    info.transform.size(j.at("size").get<int64_t>());
    info.transform.channels(j.at("channels").get<int64_t>());
    if (j.contains("class_names"))
      info.class_names = j.at("class_names").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": bad input description (" + std::string(e.what()) + ")");
  }
  if (info.mean.empty() || info.mean.size() != info.std.size())
    throw InputError(path + ": field 'mean'/'std': expected one value per channel each");
  return info;
}

nlohmann::json metrics_json(const TrainResult& r, const NetSpec& spec, const TrainConfig& config,
                            const nlohmann::json& extra) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : r.epochs) {
    epochs.push_back({{"epoch", e.epoch},
                      {"steps", e.steps},
                      {"train_loss", metric_json(e.train_loss)},
                      {"train_acc", metric_json(e.train_acc)},
                      {"seconds", e.seconds},
                      {"images_per_second", e.images_per_second},
                      {"qat_active", e.qat_active},
                      {"lr", e.lr}});
  }
  const ResolvedNet resolved = resolve(spec);
  nlohmann::json j = {{"format", "frostnas.metrics/1"},
                      {"qat_acc", metric_json(r.qat_acc)},
                      {"int8_acc", metric_json(r.int8_acc)},
                      {"fp32_acc", metric_json(r.fp32_acc)},
                      {"eval_split", r.eval_split},
                      {"val", to_json(r.val)},
                      {"test", to_json(r.test)},
                      {"final_train_loss", metric_json(r.final_train_loss)},
                      {"train_seconds", r.train_seconds},
                      {"images_per_second", r.images_per_second},
                      {"images_seen", r.images_seen},
                      {"steps", r.steps},
                      {"steps_per_epoch", r.steps_per_epoch},
                      {"qat_switch_step", r.qat_switch_step},
                      {"diverged", r.diverged},
                      {"diverged_reason", r.diverged_reason},
                      {"interrupted", r.interrupted},
                      {"budget_exhausted", r.budget_exhausted},
                      {"epochs", epochs},
                      {"loss_curve", r.loss_curve},
                      {"arch", to_json(spec)},
                      {"arch_hash", arch_hash(spec)},
                      {"params", resolved.params()},
                      {"macs", resolved.macs()},
                      {"weight_quant", to_string(config.weight_quant)},
                      {"config", to_json(config)}};
  if (!extra.is_null()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  }
  return j;
}

void save_train_artifacts(const TrainResult& result, const NetSpec& spec, const TrainConfig& config,
                          const InputInfo& input, const std::string& dir,
                          const nlohmann::json& extra) {
  fs::create_directories(dir);
  const fs::path d(dir);
  save_net_spec(spec, (d / kArchFile).string());
  // A diverged network holds non-finite weights: no checkpoint of it.
  if (result.net && !result.diverged)
    save_qat_checkpoint(*result.net.ptr(), (d / kQatCheckpointFile).string());
  if (result.int8) {
    save_int8_model(*result.int8, (d / kInt8Dir).string());
    save_json_file(to_json(input), (d / kInt8Dir / kInputFile).string());
  }
  save_json_file(to_json(input), (d / kInputFile).string());
  save_json_file(metrics_json(result, spec, config, extra), (d / kMetricsFile).string());
}

}  // namespace frostnas
