#include "search/driver/evaluator.h"

#include <cmath>

#include "common/error.h"
#include "common/json_reader.h"

namespace frostnas {

std::string to_string(AccuracyMetric metric) {
  switch (metric) {
    case AccuracyMetric::kInt8:
      return "int8";
    case AccuracyMetric::kQat:
      return "qat";
    case AccuracyMetric::kFp32:
      return "fp32";
  }
  return "int8";
}

AccuracyMetric parse_accuracy_metric(const std::string& name, const std::string& field) {
  if (name == "int8") return AccuracyMetric::kInt8;
  if (name == "qat") return AccuracyMetric::kQat;
  if (name == "fp32") return AccuracyMetric::kFp32;
  throw InputError(field + ": \"" + name + "\" is not allowed (allowed: int8, qat, fp32)");
}

double accuracy_of(const Evaluation& e, AccuracyMetric metric) {
  switch (metric) {
    case AccuracyMetric::kInt8:
      return e.int8_acc;
    case AccuracyMetric::kQat:
      return e.qat_acc;
    case AccuracyMetric::kFp32:
      return e.fp32_acc;
  }
  return e.int8_acc;
}

TrainingEvaluator::TrainingEvaluator(DataSplits data, TrainConfig config,
                                     const std::atomic<bool>* stop)
    : data_(std::move(data)), config_(std::move(config)), stop_(stop) {
  data_.test = ImageDataset{};
  config_.checkpoint_dir.clear();
}

Evaluation TrainingEvaluator::evaluate(const NetSpec& net, uint64_t seed) {
  Evaluation e;
  TrainConfig config = config_;
  config.seed = seed;
  config.transform = input_transform_for(net, data_.train, config.transform);
  TrainCallbacks callbacks;
  callbacks.stop_flag = stop_;
  try {
    const TrainResult r = train_model(net, config, data_, callbacks);
    e.train_seconds = r.train_seconds;
    if (r.interrupted) {
      e.interrupted = true;
      return e;
    }
    if (r.diverged) {
      e.failed = true;
      e.error = "diverged: " + r.diverged_reason;
      return e;
    }
    e.fp32_acc = r.val.fp32_acc;
    e.qat_acc = r.val.qat_acc;
    e.int8_acc = r.val.int8_acc;
  } catch (const std::exception& ex) {
    e.failed = true;
    const std::string what = ex.what();
    e.error = what.substr(0, what.find('\n'));
  }
  return e;
}

}  // namespace frostnas
